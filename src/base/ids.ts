// The FHIR resource id (datatypes.html#id): 1 to 64 letters, digits, '-' and
// '.'. Every check of an id or a literal reference is built from this one
// pattern, so they can never disagree.
export const ID = '[A-Za-z0-9\\-.]{1,64}';

/** A whole string that is a resource id. */
export const ID_PATTERN = new RegExp(`^${ID}$`);

export const isResourceId = (text: string): boolean => ID_PATTERN.test(text);
