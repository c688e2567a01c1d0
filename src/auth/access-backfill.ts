// Access grants for resources stored before the server kept them (an
// upgrade): rebuilt once, at start, from the data itself, in the order the
// rules depend on each other (access-rules.ts): the own grants of Tasks and
// referrals, then what patients and referrals derive from those, then what
// every record about a patient inherits from the patient. A Basic resource
// marks the rebuild done, so later starts skip it. Rebuilding is idempotent:
// processes starting together over one database may each run it.
import type { Basic } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { PROJECT_BASE } from '../base/project';
import { grantsOf } from '../store/access-index';
import type { StoragePort, StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { ALL } from '../store/search/filter';
import { DERIVATIONS, forRole, inheritedRoles, OWN_GRANTS, patientRecordTypes } from './access-rules';
import { Changes, GrantView, keyOf, refsOf, storedPages } from './grant-view';

/** The record that the grants of the stored data have been built (by this version of the rules). */
export const ACCESS_GRANTS_RECORD_ID = 'access-grants-1';

function record(): Basic {
  return {
    resourceType: 'Basic',
    id: ACCESS_GRANTS_RECORD_ID,
    code: { coding: [{ system: `${PROJECT_BASE}/CodeSystem/sp-local-concepts`, code: 'access-grants' }], text: 'Access grants built' },
  };
}

/** Builds the grants of stored data unless that was done already. */
export async function ensureAccessGrants(repo: Repository, logger: Logger): Promise<void> {
  if (await repo.readLatest('Basic', ACCESS_GRANTS_RECORD_ID)) return;
  const started = Date.now();
  const changed = await rebuildAccessGrants(repo.store, repo.baseUrl);
  logger.info({ changed, ms: Date.now() - started }, 'access grants of stored resources built');
  // Another process may have finished first and written the record: that is the same outcome.
  await repo.update(record()).catch(async (err: unknown) => {
    if (!(await repo.readLatest('Basic', ACCESS_GRANTS_RECORD_ID))) throw err;
  });
}

/** Recomputes every stored resource's grants from the data; returns how many resources changed. */
export async function rebuildAccessGrants(store: StoragePort, baseUrl: string): Promise<number> {
  let changed = 0;
  /** One page at a time, with a fresh view, so memory stays bounded and each step reads the previous step's grants. */
  const eachPage = async (type: string, fn: (row: StoredVersion, view: GrantView, changes: Changes) => Promise<void>): Promise<void> => {
    for await (const rows of storedPages(store, type, ALL)) {
      const view = new GrantView(store, baseUrl);
      const changes = new Changes();
      for (const row of rows) await fn(row, view, changes);
      const list = changes.list();
      if (list.length > 0) await store.commit([], list);
      changed += list.length;
    }
  };
  for (const [type, sources] of Object.entries(OWN_GRANTS)) {
    await eachPage(type, async (row, view, changes) => {
      for (const role of new Set(sources.flatMap((s) => s.roles))) changes.record(keyOf(row), forRole(grantsOf(row), role), await view.ownGrants(row, role));
    });
  }
  for (const d of DERIVATIONS) {
    await eachPage(d.targetType, async (row, view, changes) => {
      changes.record(keyOf(row), forRole(grantsOf(row), d.role), await view.derive(d, keyOf(row)));
    });
  }
  for (const type of patientRecordTypes()) {
    await eachPage(type, async (row, view, changes) => {
      const patients = await Promise.all(refsOf(row, 'patient', 'Patient').map((p) => view.read('Patient', p.slice('Patient/'.length))));
      for (const role of inheritedRoles(type)) {
        const expected = [...new Set(patients.flatMap((p) => forRole(grantsOf(p), role)))];
        changes.record(keyOf(row), forRole(grantsOf(row), role), expected);
      }
    });
  }
  return changed;
}
