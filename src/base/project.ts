// The project's canonical base: every profile, extension, code system, value
// set, search parameter and operation the project defines lives under it.
export const PROJECT_BASE = 'https://social-prescribing.example.org/fhir';

/** The canonical URL of one of the project's profiles or extensions. */
export const profileUrl = (name: string): string => `${PROJECT_BASE}/StructureDefinition/${name}`;
