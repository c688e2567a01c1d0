// Imports ORUK services into the store through the Repository, so every
// resource passes the same validation as an API write. Idempotent: each
// resource is matched on its ORUK id (an identifier in the ORUK systems of
// map.ts), updated only when its content changed, and a service gone from
// the directory is marked inactive, never deleted (it stays referable from
// past referrals and plans). The summary counts services, not resources.
import type { HealthcareService, Resource } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { OperationOutcomeError } from '../base/outcomes';
import { parseSearchParams } from '../base/search-request';
import type { StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { mapService, MappingError, ORUK_LOCATION_ID, ORUK_ORGANIZATION_ID, ORUK_SERVICE_ID } from './map';
import type { OrukService } from './oruk';
import { isWholeDirectory, uniqueServices, type DirectoryContent, type Rejection } from './read';
import { eachSideBySide } from '../base/side-by-side';

export interface ImportCounts {
  /** Services in the input (valid or not). */
  total: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  rejected: number;
}

export interface ImportSummary extends ImportCounts {
  rejections: Rejection[];
  /** False when the input was part of a paged directory: nothing was then deactivated. */
  wholeDirectory: boolean;
  /** Why services missing from the input were not deactivated, when they were not. */
  deactivationSkipped?: string;
  /** Nothing was written: the counts say what the import would have done. */
  dryRun: boolean;
  seconds: number;
}

export interface ImportOptions {
  /** Mark services missing from a whole directory inactive (default true). */
  deactivateMissing?: boolean;
  /**
   * Services missing from a whole directory are deactivated only when at least
   * this share of the input's services was accepted (default 0.9): a directory
   * that is mostly rejected is more likely broken than emptied.
   */
  minAcceptedShare?: number;
  /** Validate and compare everything, write nothing, and report what would change. */
  dryRun?: boolean;
  /** Services written at the same time (default 8): lets store round trips and log flushes overlap. */
  concurrency?: number;
  onProgress?: (counts: ImportCounts) => void;
  /** Services imported between checkpoints (default 100). */
  batchSize?: number;
  /** Told after each batch where to resume: an import job saves it (import-job.ts). */
  onBatch?: (checkpoint: ImportCheckpoint) => Promise<void>;
  /** Resumes after an earlier run's checkpoint: its counts and rejections carry on, its services are not imported again. */
  resume?: ImportCheckpoint;
}

/** Where an import stands after a batch: the services before `next` are done. */
export interface ImportCheckpoint {
  next: number;
  counts: ImportCounts;
  rejections: Rejection[];
}

export const DEFAULT_IMPORT_BATCH = 100;

type WriteOutcome = 'created' | 'updated' | 'unchanged';

const PAGE = 1000;

/** JSON with keys sorted, so two resources with the same content compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v
  );
}

function content(resource: Resource): string {
  const { meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...kept } = meta ?? {};
  return canonical({ ...rest, meta: kept });
}

/** Every current resource of a type with an identifier in `system`, by identifier value. */
async function storedByIdentifier(repo: Repository, resourceType: string, system: string): Promise<Map<string, StoredVersion>> {
  const found = new Map<string, StoredVersion>();
  let cursor: string | undefined;
  do {
    const query: Record<string, string[]> = { identifier: [`${system}|`], _count: [String(PAGE)], _total: ['none'], ...(cursor ? { _cursor: [cursor] } : {}) };
    const result = await repo.search(parseSearchParams(resourceType, query, { defaultCount: PAGE, maxCount: PAGE }));
    for (const match of result.matches) {
      const value = (match.resource as { identifier?: { system?: string; value?: string }[] }).identifier?.find((i) => i.system === system)?.value;
      if (value !== undefined) found.set(value, match);
    }
    cursor = result.next?._cursor;
  } while (cursor);
  return found;
}

/** The reason an OperationOutcomeError gives, each issue with where it is. */
export function reasonOf(err: unknown): string {
  if (err instanceof MappingError) return err.message;
  if (err instanceof OperationOutcomeError) {
    return (err.outcome.issue ?? [])
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${i.diagnostics ?? i.details?.text ?? i.code}${i.expression?.length ? ` (at ${i.expression.join(', ')})` : ''}`)
      .join('; ');
  }
  throw err;
}

/** Writes resources keyed by ORUK id, each at most once per import however many services share it. */
class KeyedWriter {
  private readonly writes = new Map<string, Promise<WriteOutcome>>();
  private readonly ids = new Map<string, string>();

  constructor(
    private readonly repo: Repository,
    private readonly stored: Map<string, StoredVersion>
  ) {}

  /** The FHIR id for an ORUK id: the stored resource's, or a new one kept for this import. */
  idFor(orukId: string): string {
    const stored = this.stored.get(orukId)?.id;
    if (stored) return stored;
    let id = this.ids.get(orukId);
    if (!id) this.ids.set(orukId, (id = randomUUID()));
    return id;
  }

  /** Whether the resource exists, or is being written by this import. */
  known(orukId: string): boolean {
    const stored = this.stored.get(orukId);
    return (!!stored && !stored.deleted) || this.writes.has(orukId);
  }

  write(orukId: string, resource: Resource): Promise<WriteOutcome> {
    let pending = this.writes.get(orukId);
    if (!pending) {
      pending = upsert(this.repo, resource, this.stored.get(orukId));
      this.writes.set(orukId, pending);
    }
    return pending;
  }
}

/** The conditional update on the ORUK id: nothing when the content is the same, else a new version. */
async function upsert(repo: Repository, resource: Resource, existing: StoredVersion | undefined): Promise<WriteOutcome> {
  if (existing && !existing.deleted && existing.resource && content(existing.resource) === content(resource)) return 'unchanged';
  // lockOnly: a concurrent change to the same resource between the look-up and this write is a 409, not a silent overwrite.
  const result = await repo.update(resource, existing ? { ifMatch: existing.versionId, lockOnly: true } : {});
  return result.created ? 'created' : 'updated';
}

export const DEFAULT_MIN_ACCEPTED_SHARE = 0.9;

export async function importDirectory(repo: Repository, input: DirectoryContent, options: ImportOptions = {}): Promise<ImportSummary> {
  // A dry run writes into a unit of work that is never committed: every check runs as in a real import.
  if (options.dryRun) return repo.rehearse((unit) => importInto(unit, input, options));
  return importInto(repo, input, options);
}

/** Why missing services must not be deactivated, or undefined when they may be. */
function deactivationBlocked(input: DirectoryContent, counts: ImportCounts, options: ImportOptions): string | undefined {
  if (options.deactivateMissing === false) return 'deactivation was switched off for this import';
  if (!isWholeDirectory(input)) return 'the input is part of a paged directory (not every page), so a missing service may be on another page';
  const minShare = options.minAcceptedShare ?? DEFAULT_MIN_ACCEPTED_SHARE;
  const accepted = counts.total - counts.rejected;
  if (counts.total === 0 || accepted / counts.total < minShare) {
    return `only ${accepted} of ${counts.total} services were accepted (${Math.round(minShare * 100)}% are needed before services missing from the directory are deactivated)`;
  }
  return undefined;
}

async function importInto(repo: Repository, input: DirectoryContent, options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const services = uniqueServices(input);
  const rejections: Rejection[] = options.resume ? [...options.resume.rejections] : [...input.rejected];
  const counts: ImportCounts = options.resume
    ? { ...options.resume.counts }
    : {
        total: services.length + input.rejected.length,
        processed: input.rejected.length,
        created: 0,
        updated: 0,
        unchanged: 0,
        deactivated: 0,
        rejected: input.rejected.length,
      };
  const [storedServices, storedOrganizations, storedLocations] = await Promise.all([
    storedByIdentifier(repo, 'HealthcareService', ORUK_SERVICE_ID),
    storedByIdentifier(repo, 'Organization', ORUK_ORGANIZATION_ID),
    storedByIdentifier(repo, 'Location', ORUK_LOCATION_ID),
  ]);
  const organizations = new KeyedWriter(repo, storedOrganizations);
  const locations = new KeyedWriter(repo, storedLocations);
  const healthcareServices = new KeyedWriter(repo, storedServices);
  const report = () => options.onProgress?.({ ...counts });

  const importOne = async ({ service: oruk, source }: { service: OrukService; source: string }): Promise<void> => {
    try {
      const mapped = mapService(
        oruk,
        { organization: (id) => organizations.idFor(id), location: (id) => locations.idFor(id) },
        healthcareServices.idFor(oruk.id)
      );
      const orgOrukId = (oruk.organization?.id ?? oruk.organization_id) as string;
      if (!mapped.organization && !organizations.known(orgOrukId)) {
        throw new MappingError(`organization ${orgOrukId} is neither in the service record nor imported before; give the service its organization object`);
      }
      for (const sal of oruk.service_at_locations ?? []) {
        if (!sal.location && sal.location_id && !locations.known(sal.location_id)) {
          throw new MappingError(`service_at_location ${sal.id}: location ${sal.location_id} is neither in the service record nor imported before`);
        }
      }
      // The organization and locations first: the service refers to them, and references must resolve.
      const parts: WriteOutcome[] = [];
      if (mapped.organization) parts.push(await organizations.write(orgOrukId, mapped.organization));
      for (const location of mapped.locations) parts.push(await locations.write(location.identifier?.[0].value as string, location));
      const outcome = await upsert(repo, mapped.service, storedServices.get(oruk.id));
      if (outcome === 'created') counts.created++;
      else if (outcome === 'updated' || parts.includes('updated') || parts.includes('created')) counts.updated++;
      else counts.unchanged++;
    } catch (err) {
      rejections.push({ serviceId: oruk.id, source, reason: reasonOf(err) });
      counts.rejected++;
    }
    counts.processed++;
    report();
  };

  // Batch by batch, each with its workers; after a batch every service before its end is done, so that is where a resumed run starts.
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_IMPORT_BATCH);
  for (let start = options.resume?.next ?? 0; start < services.length; start += batchSize) {
    const end = Math.min(services.length, start + batchSize);
    await eachSideBySide(services.slice(start, end), options.concurrency ?? 8, importOne);
    await options.onBatch?.({ next: end, counts: { ...counts }, rejections });
  }

  const wholeDirectory = isWholeDirectory(input);
  const deactivationSkipped = deactivationBlocked(input, counts, options);
  if (!deactivationSkipped) {
    // Still in the directory, even when rejected this time: only services that are gone are deactivated.
    const present = new Set([...services.map((s) => s.service.id), ...input.rejected.map((r) => r.serviceId).filter((id): id is string => !!id)]);
    for (const [orukId, stored] of storedServices) {
      const service = stored.resource as HealthcareService | undefined;
      if (present.has(orukId) || stored.deleted || !service || service.active === false) continue;
      try {
        await repo.update({ ...service, active: false }, { ifMatch: stored.versionId, lockOnly: true });
        counts.deactivated++;
      } catch (err) {
        rejections.push({ serviceId: orukId, source: 'deactivation', reason: `Could not mark it inactive: ${reasonOf(err)}` });
      }
      report();
    }
  }
  return { ...counts, rejections, wholeDirectory, deactivationSkipped, dryRun: !!options.dryRun, seconds: (Date.now() - started) / 1000 };
}
