// MongoDB's geospatial path for near searches. FerretDB (CI's MongoDB) has no
// 2dsphere index and cannot store GeoJSON, so the HTTP near tests there run
// the bounding-box path (search-types.test.ts); this checks what the adapter
// would send to a MongoDB that has them: the query and the GeoJSON it keeps.
import { geoFields, geoField } from '../src/store/mongo/geo';
import { toMongoQuery } from '../src/store/mongo/translate';
import type { Filter } from '../src/store/search/filter';
import { EARTH_RADIUS_KM } from '../src/store/search/near';

const box: Filter = { kind: 'cmp', field: 'idx.near.lat', op: 'ge', value: 53 };
const within: Filter = { kind: 'within', field: 'idx.near', lat: 53.8, lng: -1.55, km: 5, box };

describe('near on MongoDB', () => {
  test('with 2dsphere indexes, near is a $geoWithin spherical cap on geo.<code> (longitude first)', () => {
    const query = toMongoQuery({ kind: 'and', filters: [{ kind: 'eq', field: 'idx.status', value: 'active' }, within] }, { geo: true });
    const cap = query.$and[1]['geo.near'].$geoWithin.$centerSphere;
    expect(cap[0]).toEqual([-1.55, 53.8]);
    expect(cap[1]).toBeCloseTo(5 / EARTH_RADIUS_KM, 8);
    expect(cap[1]).toBeGreaterThanOrEqual(5 / EARTH_RADIUS_KM);
    expect(query.$and[0]).toEqual({ 'idx.status': { $eq: 'active' } });
  });

  test('without them (FerretDB), near runs its bounding box on the index fields', () => {
    expect(toMongoQuery(within, { geo: false })).toEqual({ 'idx.near.lat': { $gte: 53 } });
    expect(toMongoQuery({ kind: 'not', filter: within })).toEqual({ $nor: [{ 'idx.near.lat': { $gte: 53 } }] });
  });

  test('positions become GeoJSON: a Point for one, a MultiPoint for several, nothing for none', () => {
    expect(geoFields({ near: { lat: [53.8], lng: [-1.55] }, status: ['active'] })).toEqual({ near: { type: 'Point', coordinates: [-1.55, 53.8] } });
    expect(geoFields({ near: { lat: [53.8, 54], lng: [-1.55, -1] } })).toEqual({
      near: {
        type: 'MultiPoint',
        coordinates: [
          [-1.55, 53.8],
          [-1, 54],
        ],
      },
    });
    expect(geoFields({ near: { lat: [], lng: [] } })).toBeUndefined();
    expect(geoField('idx.near')).toBe('geo.near');
  });
});
