// The store as the access grants see it while a commit is planned (or the
// stored grants are rebuilt): committed versions, overlaid by the versions
// about to be written, and the grants each part of a resource should have
// (access-rules.ts).
import { grantsOf } from '../store/access-index';
import { indexField } from '../store/indexer';
import type { AccessChange, StoragePort, StoredVersion } from '../store/port';
import { and, type Filter } from '../store/search/filter';
import { forRole, OWN_GRANTS, type Derivation, type GrantRole } from './access-rules';
import { OrganisationCodes } from './organisation-ods';

const PAGE = 500;

export const keyOf = (v: { resourceType: string; id: string }): string => `${v.resourceType}/${v.id}`;

/** The references of a version's reference search parameter to one type ("Type/id"). */
export const refsOf = (v: StoredVersion | undefined, param: string, targetType: string): string[] =>
  v && !v.deleted ? ((v.idx[param] as string[] | undefined) ?? []).filter((r) => r.startsWith(`${targetType}/`)) : [];

/** Stored current resources matching a filter, a page at a time in id order. */
export async function* storedPages(store: StoragePort, resourceType: string, filter: Filter): AsyncGenerator<StoredVersion[]> {
  let after: string | undefined;
  for (;;) {
    const rows = await store.search({
      resourceType,
      filter: after === undefined ? filter : and([filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }]),
      sort: [{ field: 'id', descending: false }],
      offset: 0,
      limit: PAGE,
    });
    if (rows.length > 0) yield rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1].id;
  }
}

export const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
};

/** Access changes to stored resources, merged per resource. */
export class Changes {
  private readonly byKey = new Map<string, { add: Set<string>; remove: Set<string> }>();

  record(key: string, before: string[], after: string[]): void {
    const add = after.filter((g) => !before.includes(g));
    const remove = before.filter((g) => !after.includes(g));
    if (add.length === 0 && remove.length === 0) return;
    const change = this.byKey.get(key) ?? { add: new Set(), remove: new Set() };
    add.forEach((g) => change.add.add(g));
    remove.forEach((g) => change.remove.add(g));
    this.byKey.set(key, change);
  }

  list(): AccessChange[] {
    return [...this.byKey].map(([key, c]) => {
      const [resourceType, id] = key.split('/');
      return { resourceType, id, add: [...c.add].sort(), remove: [...c.remove].sort() };
    });
  }
}

export class GrantView {
  private readonly committedVersions = new Map<string, Promise<StoredVersion | undefined>>();
  private readonly own = new Map<string, Promise<Map<GrantRole, string[]>>>();
  readonly codes: OrganisationCodes;

  constructor(
    readonly store: StoragePort,
    baseUrl: string,
    /** The newest version of each resource about to be written, by "Type/id". */
    readonly pending: ReadonlyMap<string, StoredVersion> = new Map()
  ) {
    this.codes = new OrganisationCodes((type, id) => this.read(type, id), baseUrl);
  }

  /** The current version as committed, before the pending writes. */
  committed(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const key = `${resourceType}/${id}`;
    let version = this.committedVersions.get(key);
    if (!version) {
      version = this.store.readCurrent(resourceType, id);
      this.committedVersions.set(key, version);
    }
    return version;
  }

  /** The current version before a version about to be written: none for a first version, without asking the store. */
  before(version: StoredVersion): Promise<StoredVersion | undefined> {
    return version.versionId === '1' ? Promise.resolve(undefined) : this.committed(version.resourceType, version.id);
  }

  /** The current version once the pending writes are made. */
  async read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.pending.get(`${resourceType}/${id}`) ?? this.committed(resourceType, id);
  }

  /** A resource's own grants for a role, from the organisations its references stand for (OWN_GRANTS). */
  async ownGrants(version: StoredVersion, role: GrantRole): Promise<string[]> {
    const key = keyOf(version);
    let parts = this.own.get(key);
    if (!parts) {
      parts = this.computeOwn(version);
      this.own.set(key, parts);
    }
    return (await parts).get(role) ?? [];
  }

  private async computeOwn(version: StoredVersion): Promise<Map<GrantRole, string[]>> {
    const parts = new Map<GrantRole, string[]>();
    if (version.deleted) return parts;
    for (const { param, roles } of OWN_GRANTS[version.resourceType] ?? []) {
      const codes = (await Promise.all(((version.idx[param] as string[] | undefined) ?? []).map((ref) => this.codes.of(ref)))).flat();
      for (const role of roles) parts.set(role, [...new Set([...(parts.get(role) ?? []), ...codes.map((ods) => `${role}|${ods}`)])]);
    }
    return parts;
  }

  /** The grants of a derived part: the union of its sources' own grants, pending sources as they will be. */
  async derive(d: Derivation, target: string): Promise<string[]> {
    const out = new Set<string>();
    for await (const rows of storedPages(this.store, d.sourceType, { kind: 'eq', field: indexField(d.via), value: target })) {
      for (const row of rows) if (!this.pending.has(keyOf(row))) forRole(grantsOf(row), d.role).forEach((g) => out.add(g));
    }
    for (const v of this.pending.values()) {
      if (v.resourceType === d.sourceType && refsOf(v, d.via, d.targetType).includes(target)) (await this.ownGrants(v, d.role)).forEach((g) => out.add(g));
    }
    return [...out].sort();
  }
}
