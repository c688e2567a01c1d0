// The FHIR resource id (datatypes.html#id): 1 to 64 letters, digits, '-' and
// '.'. Every check of an id or a literal reference is built from this one
// pattern, so they can never disagree.
import { v7 as uuidv7 } from 'uuid';

export const ID = '[A-Za-z0-9\\-.]{1,64}';

/** A whole string that is a resource id. */
export const ID_PATTERN = new RegExp(`^${ID}$`);

export const isResourceId = (text: string): boolean => ID_PATTERN.test(text);

/**
 * An id for a resource the server names: a UUID whose leading bits are the
 * time (RFC 9562, version 7), from the uuid package, with 74 random bits
 * after them. Both stores keep their indexes in id order, so ids that grow
 * with time are added at the end of an index, where its pages are already
 * in memory, instead of at a random place in it. Random UUIDs made every
 * insert into a large index touch a page of its own: at 1,500,000
 * AuditEvents an insert took 34 µs of CPU and 74 µs in all, against 17 and
 * 21 µs with these ids, and the gap grows with the data.
 */
export const newResourceId = (): string => uuidv7();
