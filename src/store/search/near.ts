// Distance for near (Location-near): great-circle distance on the WGS84
// sphere (haversine), used to keep only what is within the distance asked
// and to order results nearest first. The store narrows by a bounding box first.
import type { PositionIndex, StoredVersion } from '../port';
import type { NearPoint } from './compile';

export const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number): number => (deg * Math.PI) / 180;

export function distanceKm(aLat: number, aLng: number, bLat: number, bLng: number): number {
  const h = Math.sin(rad(bLat - aLat) / 2) ** 2 + Math.cos(rad(aLat)) * Math.cos(rad(bLat)) * Math.sin(rad(bLng - aLng) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The rows within the distance, nearest first (id breaks ties), each with its distance. */
export function byDistance(rows: StoredVersion[], near: NearPoint): { version: StoredVersion; km: number }[] {
  const code = near.field.replace(/^idx\./, '');
  return rows
    .map((version) => {
      const position = version.idx[code] as PositionIndex | undefined;
      const km = Math.min(...(position?.lat ?? []).map((lat, i) => distanceKm(near.lat, near.lng, lat, position?.lng[i] as number)));
      return { version, km };
    })
    .filter((r) => r.km <= near.km)
    .sort((a, b) => a.km - b.km || (a.version.id < b.version.id ? -1 : a.version.id > b.version.id ? 1 : 0));
}
