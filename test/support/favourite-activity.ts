// A runtime SearchParameter the tests create: a patient by their favourite
// activity, read from an extension, and patients that carry it.
export const FAVOURITE_ACTIVITY_URL = 'https://social-prescribing.example.org/fhir/StructureDefinition/test-favourite-activity';

export const patientWithActivity = (activity: string, family: string) => ({
  resourceType: 'Patient',
  extension: [{ url: FAVOURITE_ACTIVITY_URL, valueString: activity }],
  name: [{ family }],
});

export const favouriteActivityParameter = (code: string) => ({
  resourceType: 'SearchParameter',
  url: `https://social-prescribing.example.org/fhir/SearchParameter/test-${code}`,
  name: code.replace(/-/g, ''),
  status: 'active',
  description: 'Test: a patient by their favourite activity',
  code,
  base: ['Patient'],
  type: 'string',
  expression: `Patient.extension.where(url = '${FAVOURITE_ACTIVITY_URL}').value`,
});
