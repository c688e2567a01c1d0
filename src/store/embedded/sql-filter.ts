// Compiles a Filter (../search/filter.ts) into an SQL condition over the
// current_resource row aliased `c`, with every value bound as a parameter:
// nothing from a request is ever spliced into the SQL text. Field names come
// from the compiler; an index field becomes its interned number (a bound
// parameter too), and a sort key a bound JSON path.
//
// The meaning is MongoDB's (../mongo/translate.ts): a condition on an index
// field holds when any of its values satisfies it, each condition on its own
// (two bounds may be met by different values), and a comparison only holds
// between values of the same kind (a number is never compared with a string).
import type { Filter, Scalar } from '../search/filter';
import type { SortKey } from '../port';

export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}
export type SqlParam = string | number;

export interface FilterContext {
  /** The interned number of a resource type's index field, or undefined when no version ever had it. */
  fieldId(field: string): number | undefined;
  /** The table of index values the rows point into: search_value, or audit_value for the audit trail. */
  valueTable: 'search_value' | 'audit_value';
  /**
   * Fields the rows hold themselves, each with the expression over `c` it is
   * read from (written into the SQL, so that an index on that expression is
   * used): the audit log's time fields (audit-log.ts).
   */
  scalars?: Record<string, string>;
}

const OPS = { gt: '>', ge: '>=', lt: '<', le: '<=' } as const;
const TRUE: SqlFragment = { sql: '1', params: [] };
const FALSE: SqlFragment = { sql: '0', params: [] };
/** SQLite allows 32,766 bound parameters; long IN lists are split well below that. */
const IN_CHUNK = 10000;

const bindable = (value: Scalar): SqlParam => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

/** A JSON path naming one key of an object (index fields, sort keys). */
export function keyPath(key: string): string {
  if (key.includes('"')) throw new Error(`Unsupported field ${JSON.stringify(key)}`);
  return `$."${key}"`;
}

/** A JSON path naming one key of the sort-key object. */
export const sortPath = (field: string): string => keyPath(field.slice('sort.'.length));

/** The smallest string greater than every string that starts with prefix, when there is one. */
function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop() as string;
    const code = last.codePointAt(0) as number;
    // Skip surrogate code points, which cannot appear in valid text.
    const next = code === 0xd7ff ? 0xe000 : code + 1;
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/**
 * A condition on one scalar expression (a column, or a key of the sort JSON).
 * typed: the expression can hold numbers and strings (JSON), so comparisons
 * check the kind; otherwise it is a text column.
 */
function scalarCondition(expr: string, exprParams: SqlParam[], filter: Filter, typed: boolean): SqlFragment {
  const kindOf = (value: SqlParam): string => (typeof value === 'number' ? `typeof(${expr}) IN ('integer', 'real')` : `typeof(${expr}) = 'text'`);
  const guard = (value: SqlParam): { sql: string; params: SqlParam[] } | undefined => {
    if (typed) return { sql: kindOf(value), params: exprParams };
    return typeof value === 'string' ? { sql: '1', params: [] } : undefined;
  };
  switch (filter.kind) {
    case 'eq': {
      const value = bindable(filter.value);
      const g = guard(value);
      if (!g) return FALSE;
      return { sql: `(${expr} = ? AND ${g.sql})`, params: [...exprParams, value, ...g.params] };
    }
    case 'in': {
      const values = filter.values.map(bindable).filter((v) => typed || typeof v === 'string');
      if (values.length === 0) return FALSE;
      const parts: SqlFragment[] = [];
      for (let i = 0; i < values.length; i += IN_CHUNK) {
        const chunk = values.slice(i, i + IN_CHUNK);
        // IN compares without conversions, but a number equals neither a text nor the reverse in SQLite either.
        parts.push({ sql: `${expr} IN (${chunk.map(() => '?').join(', ')})`, params: [...exprParams, ...chunk] });
      }
      return joinFragments(parts, 'OR');
    }
    case 'cmp': {
      const g = guard(filter.value);
      if (!g) return FALSE;
      return { sql: `(${expr} ${OPS[filter.op]} ? AND ${g.sql})`, params: [...exprParams, filter.value, ...g.params] };
    }
    case 'prefix': {
      const end = prefixEnd(filter.value);
      return end === undefined
        ? { sql: `(${expr} >= ? AND typeof(${expr}) = 'text')`, params: [...exprParams, filter.value, ...exprParams] }
        : { sql: `(${expr} >= ? AND ${expr} < ?)`, params: [...exprParams, filter.value, ...exprParams, end] };
    }
    case 'contains':
      return { sql: `(typeof(${expr}) = 'text' AND instr(${expr}, ?) > 0)`, params: [...exprParams, ...exprParams, filter.value] };
    default:
      throw new Error(`not a scalar condition: ${filter.kind}`);
  }
}

/** A condition on an index field's values, as a look-up in search_value. */
function indexCondition(filter: Filter & { field: string }, context: FilterContext): SqlFragment {
  const fid = context.fieldId(filter.field);
  if (filter.kind === 'exists') {
    if (fid === undefined) return filter.exists ? FALSE : TRUE;
    return { sql: `c.rid ${filter.exists ? 'IN' : 'NOT IN'} (SELECT rid FROM ${context.valueTable} WHERE fid = ?)`, params: [fid] };
  }
  const rows = valueRows(filter, context);
  return rows ? { sql: `c.rid IN (${rows.sql})`, params: rows.params } : FALSE;
}

/** The rows whose index field has a value meeting the condition, as a SELECT of their rids; undefined when no version ever had the field. */
export function valueRows(filter: Filter & { field: string }, context: FilterContext): SqlFragment | undefined {
  const fid = context.fieldId(filter.field);
  if (fid === undefined) return undefined;
  let condition: SqlFragment;
  switch (filter.kind) {
    case 'eq':
      condition = { sql: 'value = ?', params: [bindable(filter.value)] };
      break;
    case 'in': {
      const values = filter.values.map(bindable);
      if (values.length === 0) return undefined;
      const parts: SqlFragment[] = [];
      for (let i = 0; i < values.length; i += IN_CHUNK) {
        const chunk = values.slice(i, i + IN_CHUNK);
        parts.push({ sql: `value IN (${chunk.map(() => '?').join(', ')})`, params: chunk });
      }
      condition = joinFragments(parts, 'OR');
      break;
    }
    case 'cmp': {
      // Numbers sort before all text in SQLite: one bound keeps the other kind out.
      const guard =
        typeof filter.value === 'string'
          ? filter.op === 'lt' || filter.op === 'le'
            ? " AND value >= ''"
            : ''
          : filter.op === 'gt' || filter.op === 'ge'
            ? " AND value < ''"
            : '';
      condition = { sql: `value ${OPS[filter.op]} ?${guard}`, params: [filter.value] };
      break;
    }
    case 'prefix': {
      const end = prefixEnd(filter.value);
      condition =
        end === undefined
          ? { sql: `value >= ? AND typeof(value) = 'text'`, params: [filter.value] }
          : { sql: 'value >= ? AND value < ?', params: [filter.value, end] };
      break;
    }
    case 'contains':
      condition = { sql: `typeof(value) = 'text' AND instr(value, ?) > 0`, params: [filter.value] };
      break;
    default:
      throw new Error(`not an index condition: ${filter.kind}`);
  }
  return { sql: `SELECT rid FROM ${context.valueTable} WHERE fid = ? AND ${condition.sql}`, params: [fid, ...condition.params] };
}

/** A bound from above on _lastUpdated, such as the settle horizon of a poll (store/settle.ts). */
const isLastUpdatedCeiling = (filter: Filter): filter is Extract<Filter, { kind: 'cmp' }> =>
  filter.kind === 'cmp' && filter.field === 'idx._lastUpdated.hi' && (filter.op === 'le' || filter.op === 'lt') && typeof filter.value === 'string';

/** A condition that is a look-up of values (not of a field's presence), which INTERSECT can combine. */
export const isValueLookup = (filter: Filter): filter is Filter & { field: string } =>
  'field' in filter && filter.field.startsWith('idx.') && filter.kind !== 'exists' && filter.kind !== 'within';

/**
 * All of several conditions. Look-ups of index values are intersected on the
 * value index alone (`c.rid IN (SELECT ... INTERSECT SELECT ...)`) rather
 * than each checked against the rows the first one found: measured at a
 * million resources, a Task poll by owner and _lastUpdated took 4.0 ms the
 * one way and 1.2 ms the other, and nothing when either side is empty.
 */
function allOf(filters: Filter[], context: FilterContext): SqlFragment {
  const lookups = filters.filter(isValueLookup);
  // An upper bound on _lastUpdated (the settle horizon of every poll) holds for nearly every resource of the type:
  // intersected, it would sort them all (a poll at a million resources answering 446 changed Tasks: 37.5 ms, and 3.2 ms so). Beside other
  // look-ups it is checked on their rows instead, by the row's own last_updated, which is the field's only value.
  if (lookups.length > 1) {
    const bound = lookups.find(isLastUpdatedCeiling);
    if (bound) return allOf([...filters.filter((f) => f !== bound), { ...bound, field: 'lastUpdated' }], context);
  }
  if (lookups.length < 2)
    return joinFragments(
      filters.map((f) => filterToSql(f, context)),
      'AND'
    );
  const selects: SqlFragment[] = [];
  for (const lookup of lookups) {
    const rows = valueRows(lookup, context);
    if (!rows) return FALSE;
    selects.push(rows);
  }
  const intersection = { sql: `c.rid IN (${selects.map((x) => x.sql).join(' INTERSECT ')})`, params: selects.flatMap((x) => x.params) };
  const rest = filters.filter((f) => !isValueLookup(f)).map((f) => filterToSql(f, context));
  return joinFragments([intersection, ...rest], 'AND');
}

/** The value look-ups of a filter that is nothing else (one look-up, or all of several, nested or not); undefined otherwise. */
function valueLookupsOnly(filter: Filter): Array<Filter & { field: string }> | undefined {
  if (isValueLookup(filter)) return [filter];
  if (filter.kind !== 'and') return undefined;
  const lookups: Array<Filter & { field: string }> = [];
  for (const part of filter.filters) {
    const inner = valueLookupsOnly(part);
    if (!inner) return undefined;
    lookups.push(...inner);
  }
  return lookups;
}

/**
 * The rids a filter selects, each once, read from the value table alone, when
 * the filter is only look-ups of index values; undefined otherwise. Nothing
 * else needs checking: a field number belongs to one resource type, and a
 * value row exists only while its resource's current version is live (a
 * deletion removes them, writer.ts). Measured at a million resources, the
 * count of a name prefix with 7,133 matches took 2 ms this way and about
 * 10 ms through the rows themselves.
 */
function indexOnlyRids(filter: Filter, context: FilterContext): SqlFragment | undefined {
  const lookups = valueLookupsOnly(filter);
  if (!lookups) return undefined;
  const selects: SqlFragment[] = [];
  for (const lookup of lookups) {
    const rows = valueRows(lookup, context);
    // A field no version ever had: nothing matches.
    if (!rows) return { sql: 'SELECT NULL AS rid WHERE 0', params: [] };
    selects.push(rows);
  }
  // INTERSECT keeps each rid once; one look-up of a field with many values per resource needs DISTINCT, except for one
  // value: a (field, value, rid) row is there once (the primary key), so its rids are already distinct. Counting
  // the 358,960 Observations of one status at a million resources: 20.6 ms with DISTINCT, 11.9 without.
  if (selects.length === 1 && lookups[0].kind === 'eq') return selects[0];
  if (selects.length === 1) return { sql: selects[0].sql.replace(/^SELECT rid /, 'SELECT DISTINCT rid '), params: selects[0].params };
  return { sql: selects.map((x) => x.sql).join(' INTERSECT '), params: selects.flatMap((x) => x.params) };
}

/** The count of indexOnlyRids, as one statement answering `n`; undefined where the filter is more than look-ups. */
export function indexOnlyCount(filter: Filter, context: FilterContext): SqlFragment | undefined {
  const rids = indexOnlyRids(filter, context);
  return rids && { sql: `SELECT count(*) AS n FROM (${rids.sql})`, params: rids.params };
}

/**
 * Conditions joined, with the constants folded: a condition no row can meet
 * (a field no version ever had) stays FALSE through AND and OR, so the store
 * answers it without a query. Unfolded, `(0 OR 0)` still walked every
 * resource of the type (0.4 ms for a subscription round on a server with no
 * Subscriptions).
 */
function joinFragments(parts: SqlFragment[], op: 'AND' | 'OR'): SqlFragment {
  const [absorbing, neutral] = op === 'AND' ? [FALSE, TRUE] : [TRUE, FALSE];
  if (parts.includes(absorbing)) return absorbing;
  const rest = parts.filter((p) => p !== neutral);
  if (rest.length === 0) return neutral;
  if (rest.length === 1) return rest[0];
  return { sql: `(${rest.map((p) => p.sql).join(` ${op} `)})`, params: rest.flatMap((p) => p.params) };
}

/** The filter as a condition; undefined when no row can meet it, known without a query (the store then answers at once). */
export function conditionOf(filter: Filter, context: FilterContext): SqlFragment | undefined {
  const condition = filterToSql(filter, context);
  return condition === FALSE ? undefined : condition;
}

/** The column or expression a top-level field is read from, and whether it holds typed JSON values. */
function scalarField(field: string, scalars: Record<string, string> = {}): { expr: string; params: SqlParam[]; typed: boolean } | undefined {
  if (Object.hasOwn(scalars, field)) return { expr: scalars[field], params: [], typed: false };
  if (field === 'id') return { expr: 'c.id', params: [], typed: false };
  if (field === 'lastUpdated') return { expr: 'c.last_updated', params: [], typed: false };
  if (field.startsWith('sort.')) return { expr: 'json_extract(c.sort, ?)', params: [sortPath(field)], typed: true };
  return undefined;
}

export function filterToSql(filter: Filter, context: FilterContext): SqlFragment {
  switch (filter.kind) {
    case 'all':
      return TRUE;
    case 'none':
      return FALSE;
    case 'and':
      return allOf(filter.filters, context);
    case 'or':
      return joinFragments(
        filter.filters.map((f) => filterToSql(f, context)),
        'OR'
      );
    case 'not': {
      const inner = filterToSql(filter.filter, context);
      if (inner === TRUE || inner === FALSE) return inner === TRUE ? FALSE : TRUE;
      return { sql: `NOT ${inner.sql.startsWith('(') ? inner.sql : `(${inner.sql})`}`, params: inner.params };
    }
    case 'within':
      return withinToSql(filter, context);
    default: {
      if (filter.field.startsWith('idx.')) return indexCondition(filter, context);
      const scalar = scalarField(filter.field, context.scalars);
      if (!scalar) throw new Error(`The embedded store cannot query field ${JSON.stringify(filter.field)}`);
      if (filter.kind === 'exists') {
        if (!scalar.typed) return filter.exists ? TRUE : FALSE;
        return { sql: `json_type(c.sort, ?) IS ${filter.exists ? 'NOT ' : ''}NULL`, params: scalar.params };
      }
      return scalarCondition(scalar.expr, scalar.params, filter, scalar.typed);
    }
  }
}

/**
 * A near search. Every point within the distance has its latitude and its
 * longitude inside the bounding box, so the store selects resources with a
 * latitude value in the box's latitude band and a longitude value in its
 * longitude band (each band one range scan), and the repository keeps what
 * is truly within the distance (search/near.ts). Checking each bound on its
 * own instead, as a store without geospatial indexes must for the box in
 * general, would read every position on one side of each bound.
 */
function withinToSql(filter: Extract<Filter, { kind: 'within' }>, context: FilterContext): SqlFragment {
  const parts = filter.box.kind === 'and' ? filter.box.filters : [filter.box];
  const bands = new Map<string, { lo?: number; hi?: number }>();
  const others: Filter[] = [];
  for (const part of parts) {
    if (part.kind === 'cmp' && typeof part.value === 'number' && part.field.startsWith('idx.') && (part.op === 'ge' || part.op === 'le')) {
      const band = bands.get(part.field) ?? {};
      if (part.op === 'ge') band.lo = Math.max(band.lo ?? -Infinity, part.value);
      else band.hi = Math.min(band.hi ?? Infinity, part.value);
      bands.set(part.field, band);
    } else {
      others.push(part);
    }
  }
  const fragments: SqlFragment[] = [];
  for (const [field, band] of bands) {
    if (band.lo === undefined || band.hi === undefined) {
      if (band.lo !== undefined) others.push({ kind: 'cmp', field, op: 'ge', value: band.lo });
      if (band.hi !== undefined) others.push({ kind: 'cmp', field, op: 'le', value: band.hi });
      continue;
    }
    const fid = context.fieldId(field);
    if (fid === undefined) return FALSE;
    fragments.push({ sql: `c.rid IN (SELECT rid FROM ${context.valueTable} WHERE fid = ? AND value >= ? AND value <= ?)`, params: [fid, band.lo, band.hi] });
  }
  fragments.push(...others.map((f) => filterToSql(f, context)));
  return fragments.length === 0 ? TRUE : joinFragments(fragments, 'AND');
}

/**
 * Whether the filter requires a look-up that names its rows directly (a value
 * of an index field, or ids): then the query starts from those rows rather
 * than from every row of the type in id order, which SQLite would otherwise
 * prefer for its ORDER BY id without statistics to tell it better.
 */
export function hasDrivingCondition(filter: Filter): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.filters.some(hasDrivingCondition);
    case 'within':
      return hasDrivingCondition(filter.box);
    case 'eq':
    case 'in':
      return filter.field === 'id' || filter.field.startsWith('idx.');
    case 'cmp':
    case 'prefix':
      return filter.field.startsWith('idx.');
    case 'exists':
      return filter.exists && filter.field.startsWith('idx.');
    default:
      return false;
  }
}

/**
 * Whether the filter selects its rows by exact values (ids, references,
 * identifiers, codes): SQLite then reads them through the value index, and
 * for most such searches there are a few. A prefix, a range, a text match, a
 * box or no condition at all gathers, sorts and counts many rows instead.
 */
export function isExactLookup(filter: Filter): boolean {
  switch (filter.kind) {
    case 'eq':
    case 'in':
      return filter.field === 'id' || filter.field.startsWith('idx.');
    case 'and':
      return filter.filters.some(isExactLookup);
    case 'or':
      return filter.filters.every(isExactLookup);
    default:
      return false;
  }
}

/**
 * A LIMIT clause with its number written into the SQL, where every other
 * value is bound. Bound as a parameter, a LIMIT makes SQLite compile the
 * statement again on every run (the planner uses its value, so binding it
 * expires the plan): measured here, a search's page query took 23 µs so and
 * 8 µs with the number written in. The number is the server's own (a page
 * size, a walk's length), checked here to be a whole number; OFFSET, which
 * the planner does not use, stays bound.
 */
export function limitSql(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`Not a row limit: ${limit}`);
  return ` LIMIT ${limit}`;
}

/**
 * ORDER BY for sort keys; a missing key sorts first ascending and last descending, as in MongoDB.
 * @param indexed the store's own expressions for fields an index holds, written in as they are: SQLite uses an
 *   index on an expression only for that expression, and a bound path is not the same expression
 */
export function orderToSql(keys: SortKey[], indexed: Record<string, string> = {}): SqlFragment {
  if (keys.length === 0) return { sql: '', params: [] };
  const parts: SqlFragment[] = keys.map((key) => {
    const direction = key.descending ? 'DESC' : 'ASC';
    if (indexed[key.field]) return { sql: `${indexed[key.field]} ${direction}`, params: [] };
    const scalar = scalarField(key.field);
    if (!scalar) throw new Error(`The embedded store cannot sort by ${JSON.stringify(key.field)}`);
    return { sql: `${scalar.expr} ${direction}`, params: scalar.params };
  });
  return { sql: ` ORDER BY ${parts.map((p) => p.sql).join(', ')}`, params: parts.flatMap((p) => p.params) };
}
