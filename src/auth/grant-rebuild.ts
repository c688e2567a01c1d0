// Recomputes stored access grants from the data, a page at a time, in the
// order the rules depend on each other (access-rules.ts): the own grants of
// Tasks and referrals, then what patients and referrals derive from those,
// then what the records about those patients inherit. Used to build the
// grants of data stored before the server kept them (access-backfill.ts),
// and after an organisation's ODS code, or the organisation a service or
// role belongs to, changed (regrantNaming below).
import { grantsOf } from '../store/access-index';
import { indexField } from '../store/indexer';
import type { StoragePort, StoredVersion } from '../store/port';
import { ALL, type Filter } from '../store/search/filter';
import { DERIVATIONS, forRole, inheritedRoles, OWN_GRANTS, patientRecordTypes, type Derivation } from './access-rules';
import { Changes, GrantView, keyOf, refsOf, sameSet, storedPages } from './grant-view';

/** How many resources' grants a rebuild changed. */
export interface RebuildCount {
  changed: number;
}

type RowStep = (row: StoredVersion, view: GrantView, changes: Changes) => Promise<void>;

/** Runs a step over the stored resources a filter selects: one fresh view per page, so memory stays bounded and each step reads what the previous stored. */
async function eachPage(store: StoragePort, baseUrl: string, type: string, filter: Filter, count: RebuildCount, step: RowStep): Promise<void> {
  for await (const rows of storedPages(store, type, filter)) {
    const view = new GrantView(store, baseUrl);
    const changes = new Changes();
    for (const row of rows) await step(row, view, changes);
    const list = changes.list();
    if (list.length > 0) await store.commit([], { access: list });
    count.changed += list.length;
  }
}

/** The own grants of the Tasks and referrals a filter selects; returns the rows whose grants changed. */
async function rebuildOwn(store: StoragePort, baseUrl: string, type: string, filter: Filter, count: RebuildCount): Promise<StoredVersion[]> {
  const roles = [...new Set((OWN_GRANTS[type] ?? []).flatMap((s) => s.roles))];
  const changed: StoredVersion[] = [];
  await eachPage(store, baseUrl, type, filter, count, async (row, view, changes) => {
    let differs = false;
    for (const role of roles) {
      const before = forRole(grantsOf(row), role);
      const after = await view.ownGrants(row, role);
      changes.record(keyOf(row), before, after);
      differs ||= !sameSet(before, after);
    }
    if (differs) changed.push(row);
  });
  return changed;
}

/** A derived part of the targets a filter selects; returns the targets whose part changed. */
async function rebuildDerived(store: StoragePort, baseUrl: string, d: Derivation, filter: Filter, count: RebuildCount): Promise<string[]> {
  const changed: string[] = [];
  await eachPage(store, baseUrl, d.targetType, filter, count, async (row, view, changes) => {
    const before = forRole(grantsOf(row), d.role);
    const after = await view.derive(d, keyOf(row));
    changes.record(keyOf(row), before, after);
    if (!sameSet(before, after)) changed.push(keyOf(row));
  });
  return changed;
}

/** The inherited parts of the records about patients a filter selects. */
async function rebuildInherited(store: StoragePort, baseUrl: string, type: string, filter: Filter, count: RebuildCount): Promise<void> {
  await eachPage(store, baseUrl, type, filter, count, async (row, view, changes) => {
    const patients = await Promise.all(refsOf(row, 'patient', 'Patient').map((p) => view.read('Patient', p.slice('Patient/'.length))));
    for (const role of inheritedRoles(type))
      changes.record(keyOf(row), forRole(grantsOf(row), role), [...new Set(patients.flatMap((p) => forRole(grantsOf(p), role)))]);
  });
}

/** Every stored resource's grants, from the data; returns how many resources changed. */
export async function rebuildAllGrants(store: StoragePort, baseUrl: string): Promise<number> {
  const count = { changed: 0 };
  for (const type of Object.keys(OWN_GRANTS)) await rebuildOwn(store, baseUrl, type, ALL, count);
  for (const d of DERIVATIONS) await rebuildDerived(store, baseUrl, d, ALL, count);
  for (const type of patientRecordTypes()) await rebuildInherited(store, baseUrl, type, ALL, count);
  return count.changed;
}

const inIds = (keys: string[]): Filter => ({ kind: 'in', field: 'id', values: keys.map((k) => k.slice(k.indexOf('/') + 1)) });
const CHUNK = 500;

/**
 * The grants of the Tasks and referrals that name these organisations,
 * services or roles ("Type/id"), whose ODS codes changed, and of everything
 * those grants reach; returns how many resources changed.
 */
export async function regrantNaming(store: StoragePort, baseUrl: string, references: string[]): Promise<number> {
  const count = { changed: 0 };
  const targets = new Map<Derivation, Set<string>>(DERIVATIONS.map((d) => [d, new Set<string>()]));
  for (const [type, sources] of Object.entries(OWN_GRANTS)) {
    for (const { param } of sources) {
      for (let i = 0; i < references.length; i += CHUNK) {
        const filter: Filter = { kind: 'in', field: indexField(param), values: references.slice(i, i + CHUNK) };
        for (const row of await rebuildOwn(store, baseUrl, type, filter, count)) {
          for (const d of DERIVATIONS) if (d.sourceType === type) refsOf(row, d.via, d.targetType).forEach((t) => targets.get(d)?.add(t));
        }
      }
    }
  }
  const patients = new Set<string>();
  for (const [d, keys] of targets) {
    const list = [...keys];
    for (let i = 0; i < list.length; i += CHUNK) {
      const changed = await rebuildDerived(store, baseUrl, d, inIds(list.slice(i, i + CHUNK)), count);
      if (d.targetType === 'Patient') changed.forEach((p) => patients.add(p));
    }
  }
  const list = [...patients];
  for (let i = 0; i < list.length; i += CHUNK) {
    const filter: Filter = { kind: 'in', field: indexField('patient'), values: list.slice(i, i + CHUNK) };
    for (const type of patientRecordTypes()) await rebuildInherited(store, baseUrl, type, filter, count);
  }
  return count.changed;
}
