// NHS identifier systems (DOMAIN.md, "Identifier systems"): known to every
// layer, since an organisation's ODS code is also what access is granted by.
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_ORGANIZATION_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const ODS_SITE_SYSTEM = 'https://fhir.nhs.uk/Id/ods-site-code';
