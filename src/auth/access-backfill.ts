// Access grants for resources stored before the server kept them (an
// upgrade): rebuilt once, at start, from the data itself (grant-rebuild.ts).
// A Basic resource marks the rebuild done, so later starts skip it; deleting
// it makes the next start rebuild every grant. Rebuilding is idempotent:
// processes starting together over one database may each run it.
import type { Basic } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { PROJECT_BASE } from '../base/project';
import type { Repository } from '../store/repository';
import { rebuildAllGrants } from './grant-rebuild';

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
  const done = async () => {
    const latest = await repo.readLatest('Basic', ACCESS_GRANTS_RECORD_ID);
    return latest !== undefined && !latest.deleted;
  };
  if (await done()) return;
  const started = Date.now();
  const changed = await rebuildAllGrants(repo.store, repo.baseUrl);
  logger.info({ changed, ms: Date.now() - started }, 'access grants of stored resources built');
  // Another process may have finished first and written the record: that is the same outcome.
  await repo.update(record()).catch(async (err: unknown) => {
    if (!(await done())) throw err;
  });
}
