// The bounds a search keeps to, so that one request cannot make the server
// read without end. Each is configurable (config.ts); these are the defaults.
export interface SearchLimits {
  /** Resources a chained parameter may select (search.html#chaining); a chain selecting more is refused. */
  chain: number;
  /** Resources _include and _revinclude may add to one page; beyond it they are capped, with a warning. */
  include: number;
  /** Rounds of _include:iterate and _revinclude:iterate after the first. */
  includeIterations: number;
  /** Resources a near search considers in its bounding box; an area holding more is refused. */
  near: number;
  /** The distance of a near search that gives none, in kilometres. */
  nearDefaultKm: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = { chain: 1000, include: 1000, includeIterations: 4, near: 10000, nearDefaultKm: 50 };
