// Translates a compiled Filter into a MongoDB query document. Field names come
// only from the compiler (search parameter codes known to the server); every
// request value arrives here as data and is placed where MongoDB reads a
// value, never where it reads an operator. Prefixes become escaped, anchored
// regular expressions.
import type { Document } from 'mongodb';
import type { Filter } from '../search/filter';
import { EARTH_RADIUS_KM } from '../search/near';
import { geoField } from './geo';

const CMP = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte' } as const;

/** Current-version documents keep the resource id in _id, where MongoDB indexes it. */
const column = (field: string): string => (field === 'id' ? '_id' : field);

/**
 * Escapes every character that has a meaning in a regular expression. A NUL
 * becomes the escape \x00: MongoDB refuses a pattern with an embedded NUL
 * byte, while the escape matches the same character.
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&').replace(/\0/g, '\\x00');
}

export interface TranslateOptions {
  /** The deployment keeps GeoJSON points and a 2dsphere index (see geo.ts); otherwise near runs its bounding box. */
  geo: boolean;
}

export function toMongoQuery(filter: Filter, options: TranslateOptions = { geo: false }): Document {
  const translate = (f: Filter): Document => toMongoQuery(f, options);
  switch (filter.kind) {
    case 'all':
      return {};
    case 'none':
      return { _id: { $in: [] } };
    case 'and':
      return { $and: filter.filters.map(translate) };
    case 'or':
      return { $or: filter.filters.map(translate) };
    case 'not':
      return { $nor: [translate(filter.filter)] };
    case 'eq':
      // $eq, not a bare value: a value can then never be read as a sub-document query.
      return { [column(filter.field)]: { $eq: filter.value } };
    case 'in':
      return { [column(filter.field)]: { $in: filter.values } };
    case 'cmp':
      return { [column(filter.field)]: { [CMP[filter.op]]: filter.value } };
    case 'prefix':
      return { [column(filter.field)]: { $regex: '^' + escapeRegExp(filter.value) } };
    case 'contains':
      return { [column(filter.field)]: { $regex: escapeRegExp(filter.value) } };
    case 'exists':
      return { [column(filter.field)]: { $exists: filter.exists } };
    case 'within':
      if (!options.geo) return translate(filter.box);
      // A spherical cap around the point, radius in radians on the same Earth
      // radius as the repository's haversine; a hair wider so that rounding
      // never drops a point at the edge (the repository keeps the exact cut).
      return { [geoField(filter.field)]: { $geoWithin: { $centerSphere: [[filter.lng, filter.lat], (filter.km / EARTH_RADIUS_KM) * 1.000001 + 1e-12] } } };
  }
}
