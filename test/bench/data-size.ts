// The data a benchmark ran against: resources in the store, counted through
// FHIR (`_summary=count`, so it works on any server), and the bytes the
// server's data directory takes on disk (the embedded store, when local).
import fs from 'node:fs';
import path from 'node:path';
import { fhir } from './server';

/** The types the bench populations write. */
export const POPULATION_TYPES = [
  'Patient',
  'Consent',
  'ServiceRequest',
  'Task',
  'Goal',
  'CarePlan',
  'Observation',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Location',
  'HealthcareService',
];

export interface DataSize {
  /** Current resources of the population's types, by type and in all. */
  resources: number;
  byType: Record<string, number>;
  /** Bytes under the data directory (files of the embedded store), when it is on this machine. */
  diskBytes?: number;
  /** Of those, the write-ahead log's: up to its limit (checkpointer.ts) beside the database, whatever the data's size. */
  logBytes?: number;
}

export async function countResources(base: string, token: string | undefined, types = POPULATION_TYPES): Promise<Pick<DataSize, 'resources' | 'byType'>> {
  const byType: Record<string, number> = {};
  for (const type of types) {
    const res = await fhir(base, token, 'GET', `/${type}?_summary=count`);
    if (res.status === 200 && typeof res.body?.total === 'number') byType[type] = res.body.total as number;
  }
  return { resources: Object.values(byType).reduce((a, b) => a + b, 0), byType };
}

/** Total size of the files under dir (sparse and hole-free alike: apparent size). */
export function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

/** The size of the embedded store's write-ahead log in dir (0 when there is none). */
export function logBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('-wal'))
    .reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

export async function dataSize(base: string, token: string | undefined, dataDir?: string): Promise<DataSize> {
  return { ...(await countResources(base, token)), ...(dataDir ? { diskBytes: diskBytes(dataDir), logBytes: logBytes(dataDir) } : {}) };
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** "N MiB on disk", saying how much of it is the write-ahead log, which comparisons of data size should leave out. */
export function onDisk(size: Pick<DataSize, 'diskBytes' | 'logBytes'>): string {
  const log = size.logBytes ? ` (${mib(size.logBytes)} of it the write-ahead log)` : '';
  return `${mib(size.diskBytes)} on disk${log}`;
}
