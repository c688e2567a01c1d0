// The embedded store: the zero-setup default. All versions live in memory and
// every commit is made durable in a write-ahead log (wal.ts) before it is
// acknowledged or becomes visible to readers. Commits are atomic: one log
// line holds all of a commit's versions.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Filter } from '../search/filter';
import {
  StoreUnavailableError,
  VersionConflictError,
  type HistoryQuery,
  type IndexUpdate,
  type StoragePort,
  type StoredVersion,
  type StoreQuery,
  type VersionWrite,
} from '../port';
import { compileMatcher, sortBySortKeys } from './match';
import { lockDataDirectory } from './lock';
import { FieldIndexes } from './field-index';
import { WriteAheadLog } from './wal';
import { ExportFiles } from './export-files';
import { IdOrder } from './id-order';

/** Compact the log into the snapshot at start when it has grown past this. */
const COMPACT_AT_BYTES = 64 * 1024 * 1024;

const keyOf = (resourceType: string, id: string): string => `${resourceType}/${id}`;

export class EmbeddedStore implements StoragePort {
  readonly kind = 'embedded';
  readonly supportsTransactions = true;
  /** Current version per resource type and id: only durable versions. */
  private readonly current = new Map<string, Map<string, StoredVersion>>();
  /** Every durable version per resource, oldest first. */
  private readonly versions = new Map<string, StoredVersion[]>();
  /** Newest version per resource written but not yet durable: the optimistic lock sees these. */
  private readonly pending = new Map<string, StoredVersion>();
  private log: WriteAheadLog | undefined;
  private readonly fieldIndexes = new FieldIndexes((type) => this.current.get(type)?.values() ?? []);
  private readonly idOrder = new IdOrder((type) => this.current.get(type)?.keys() ?? []);
  private unlock: (() => void) | undefined;

  private readonly exportFiles: ExportFiles;

  constructor(private readonly dataDir: string) {
    this.exportFiles = new ExportFiles(path.join(dataDir, 'export'));
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.dataDir, { recursive: true });
    this.unlock = lockDataDirectory(this.dataDir);
    const { log } = await WriteAheadLog.open(
      this.dataDir,
      (v) => this.apply(v),
      (u) => this.applyIndex(u)
    );
    this.log = log;
    if (log.bytes > COMPACT_AT_BYTES) await log.compact(this.allVersions());
  }

  private *allVersions(): Iterable<StoredVersion> {
    for (const list of this.versions.values()) yield* list;
  }

  /** Makes a durable version visible. Idempotent, so a replayed commit is harmless. */
  private apply(version: StoredVersion): void {
    const key = keyOf(version.resourceType, version.id);
    const list = this.versions.get(key) ?? [];
    if (list.some((v) => v.versionId === version.versionId)) return;
    list.push(version);
    this.versions.set(key, list);
    let byId = this.current.get(version.resourceType);
    if (!byId) {
      byId = new Map();
      this.current.set(version.resourceType, byId);
    }
    const existing = byId.get(version.id);
    if (!existing || Number(version.versionId) > Number(existing.versionId)) {
      if (!existing) this.idOrder.added(version.resourceType, version.id);
      byId.set(version.id, version);
      this.fieldIndexes.replace(existing, version);
    }
  }

  /** Puts new index fields on the current version (the stored version object is replaced, not changed). */
  private applyIndex(update: IndexUpdate): boolean {
    const current = this.current.get(update.resourceType)?.get(update.id);
    if (current?.versionId !== update.versionId) return false;
    const next: StoredVersion = { ...current, idx: update.idx, sort: update.sort };
    this.current.get(update.resourceType)?.set(update.id, next);
    this.fieldIndexes.replace(current, next);
    const list = this.versions.get(keyOf(update.resourceType, update.id)) ?? [];
    const at = list.indexOf(current);
    if (at >= 0) list[at] = next;
    return true;
  }

  async updateIndexes(updates: IndexUpdate[]): Promise<void> {
    const applicable = updates.filter((u) => this.current.get(u.resourceType)?.get(u.id)?.versionId === u.versionId);
    if (applicable.length === 0) return;
    await this.requireLog().appendIndexes(applicable);
    applicable.forEach((u) => this.applyIndex(u));
  }

  async readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.current.get(resourceType)?.get(id);
  }

  async readVersion(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    return this.versions.get(keyOf(resourceType, id))?.find((v) => v.versionId === versionId);
  }

  async readHistory(query: HistoryQuery): Promise<StoredVersion[]> {
    let candidates: StoredVersion[];
    if (query.resourceType && query.id) {
      candidates = [...(this.versions.get(keyOf(query.resourceType, query.id)) ?? [])];
    } else {
      candidates = [];
      for (const list of this.versions.values()) {
        if (query.resourceType && list[0].resourceType !== query.resourceType) continue;
        candidates.push(...list);
      }
    }
    const since = query.since;
    const selected = since ? candidates.filter((v) => v.lastUpdated > since) : candidates;
    selected.sort((a, b) => (a.lastUpdated === b.lastUpdated ? Number(b.versionId) - Number(a.versionId) : a.lastUpdated < b.lastUpdated ? 1 : -1));
    return selected.slice(query.offset, query.offset + query.limit);
  }

  private select(resourceType: string, filter: Filter): StoredVersion[] {
    const matches = compileMatcher(filter);
    const byId = this.current.get(resourceType);
    const out: StoredVersion[] = [];
    // An equality on an index field narrows the rows to look at; the filter still decides.
    const candidates = this.fieldIndexes.candidates(resourceType, filter);
    const rows = candidates ? [...candidates].map((id) => byId?.get(id)) : (byId?.values() ?? []);
    for (const version of rows) {
      if (version && !version.deleted && matches(version)) out.push(version);
    }
    return out;
  }

  async search(query: StoreQuery): Promise<StoredVersion[]> {
    const [key, ...others] = query.sort;
    // Sorted by id alone and without an index to narrow by: walk the ids in order and stop at the page's end.
    if (key?.field === 'id' && !key.descending && others.length === 0 && !this.fieldIndexes.candidates(query.resourceType, query.filter)) {
      return this.searchById(query);
    }
    const found = sortBySortKeys(this.select(query.resourceType, query.filter), query.sort);
    return found.slice(query.offset, query.offset + query.limit);
  }

  private searchById(query: StoreQuery): StoredVersion[] {
    const matches = compileMatcher(query.filter);
    const byId = this.current.get(query.resourceType);
    const out: StoredVersion[] = [];
    const wanted = query.offset + query.limit;
    if (!byId || wanted === 0) return out;
    for (const id of this.idOrder.from(query.resourceType, query.filter)) {
      const version = byId.get(id);
      if (version && !version.deleted && matches(version)) out.push(version);
      if (out.length >= wanted) break;
    }
    return out.slice(query.offset);
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    return this.select(resourceType, filter).length;
  }

  async commit(writes: VersionWrite[]): Promise<void> {
    const log = this.requireLog();
    // Check every optimistic lock first (synchronously, so no other commit interleaves).
    const seen = new Map<string, StoredVersion>();
    for (const { version, expectedVersionId } of writes) {
      const key = keyOf(version.resourceType, version.id);
      const latest = seen.get(key) ?? this.pending.get(key) ?? this.current.get(version.resourceType)?.get(version.id);
      if (latest?.versionId !== expectedVersionId) throw new VersionConflictError(version.resourceType, version.id);
      seen.set(key, version);
    }
    for (const [key, version] of seen) this.pending.set(key, version);
    try {
      await log.append(writes.map((w) => w.version));
      writes.forEach((w) => this.apply(w.version));
    } finally {
      for (const [key, version] of seen) {
        if (this.pending.get(key) === version) this.pending.delete(key);
      }
    }
  }

  async writeExportChunk(jobId: string, file: string, seq: number, text: string): Promise<void> {
    this.requireLog();
    await this.exportFiles.write(jobId, file, seq, text);
  }

  async readExportChunk(jobId: string, file: string, seq: number): Promise<string | undefined> {
    this.requireLog();
    return this.exportFiles.read(jobId, file, seq);
  }

  async deleteExportFiles(jobId: string): Promise<void> {
    this.requireLog();
    await this.exportFiles.remove(jobId);
  }

  async ping(): Promise<void> {
    this.requireLog();
  }

  private requireLog(): WriteAheadLog {
    if (!this.log) throw new StoreUnavailableError('The embedded store is closed');
    return this.log;
  }

  async close(): Promise<void> {
    if (!this.log) return;
    const log = this.log;
    this.log = undefined;
    await log.close();
    this.unlock?.();
  }
}
