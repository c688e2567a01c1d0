// Translates a compiled Filter into a MongoDB query document. Field names come
// only from the compiler (search parameter codes known to the server); every
// request value arrives here as data and is placed where MongoDB reads a
// value, never where it reads an operator. Prefixes become escaped, anchored
// regular expressions.
import type { Document } from 'mongodb';
import type { Filter } from '../search/filter';

const CMP = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte' } as const;

/** Current-version documents keep the resource id in _id, where MongoDB indexes it. */
const column = (field: string): string => (field === 'id' ? '_id' : field);

/** Escapes every character that has a meaning in a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export function toMongoQuery(filter: Filter): Document {
  switch (filter.kind) {
    case 'all':
      return {};
    case 'none':
      return { _id: { $in: [] } };
    case 'and':
      return { $and: filter.filters.map(toMongoQuery) };
    case 'or':
      return { $or: filter.filters.map(toMongoQuery) };
    case 'not':
      return { $nor: [toMongoQuery(filter.filter)] };
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
  }
}
