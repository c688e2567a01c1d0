// GeoJSON copies of position index fields, for MongoDB's 2dsphere index.
//
// The index fields keep positions as parallel lat/lng arrays (port.ts), which
// every store can compare. Where the deployment has geospatial indexes, the
// adapter also writes each position field as a GeoJSON point under
// geo.<code> on the current document and indexes it, so a near search is a
// $geoWithin on that index instead of a bounding-box range scan. Deployments
// without 2dsphere support (FerretDB) never get the field: they cannot store
// GeoJSON's nested coordinate arrays at all.
import type { IndexSpecification } from 'mongodb';
import type { IndexFields, PositionIndex } from '../port';

/** geo.<code> for the index field idx.<code>. */
export function geoField(indexField: string): string {
  return `geo.${indexField.replace(/^idx\./, '')}`;
}

/** The 2dsphere indexes per type: Location-near is R4's one position parameter. */
export const GEO_INDEXES: Record<string, IndexSpecification> = {
  Location: { 'geo.near': '2dsphere' },
};

const isPosition = (value: unknown): value is PositionIndex =>
  typeof value === 'object' && value !== null && Array.isArray((value as PositionIndex).lat) && Array.isArray((value as PositionIndex).lng);

/** GeoJSON for every position field with a value: a Point for one position, a MultiPoint for several. */
export function geoFields(idx: IndexFields): Record<string, unknown> | undefined {
  let geo: Record<string, unknown> | undefined;
  for (const [code, value] of Object.entries(idx)) {
    if (!isPosition(value) || value.lat.length === 0) continue;
    const points = value.lat.map((lat, i) => [value.lng[i], lat]);
    geo ??= {};
    geo[code] = points.length === 1 ? { type: 'Point', coordinates: points[0] } : { type: 'MultiPoint', coordinates: points };
  }
  return geo;
}
