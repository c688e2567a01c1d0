// Conditional writes that search and then write (create, update, delete by
// criteria) run under their criteria's key: in this process a lock keeps a
// twin from searching in between, and across processes the key record
// (store/conditional-keys.ts) makes a twin's create fail rather than
// duplicate. A write that finds the ground moved under it (a twin holds the
// key, or changed the match first) searches again, a few times.
import type { Resource } from '@medplum/fhirtypes';
import { newResourceId } from '../../base/ids';
import { conflict } from '../../base/outcomes';
import { ConditionalKeyTaken, type KeyTicket } from '../../store/conditional-keys';
import { LostRace, type WriteResult } from '../../store/repository';
import type { FhirContext } from '../context';

/** Searches again after a twin took the key or won the race: it has written the match, or is about to. */
const ATTEMPTS = 40;

/** Thrown inside a conditional write when the match changed before it could be written: search again. */
export class SearchAgain extends Error {}

/** Runs attempt under the key, with the key's ticket, until it neither finds the key taken nor the match moved. */
export async function underConditionalKey<T>(ctx: FhirContext, key: string, attempt: (ticket: KeyTicket | undefined) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await ctx.repo.exclusive([key], async () => attempt(await ctx.repo.readConditionalKey(key)));
    } catch (err) {
      if (!(err instanceof ConditionalKeyTaken) && !(err instanceof SearchAgain)) throw err;
      if (n >= ATTEMPTS) throw conflict('Other requests kept writing resources matching the same criteria; send this one again');
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 50));
    }
  }
}

/** Creates the resource and claims its key: in one unit where the store has transactions, else the key first. */
export async function createWithKey(ctx: FhirContext, resource: Resource, ticket: KeyTicket | undefined, assignedId?: string): Promise<WriteResult> {
  const id = assignedId ?? newResourceId();
  const target = `${resource.resourceType}/${id}`;
  if (ctx.repo.store.supportsTransactions || ctx.repo.inUnit) {
    return ctx.repo.transaction(async (unit) => {
      const result = await unit.update({ ...resource, id });
      await unit.claimConditionalKey(ticket, target);
      return result;
    });
  }
  await ctx.repo.claimConditionalKey(ticket, target);
  return ctx.repo.update({ ...resource, id });
}

/**
 * Writes the version a search found: when another request changed it first
 * (a lost race), searching again is the answer, since the resource may no
 * longer match, or a new one may.
 */
export async function writeFound<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof LostRace) throw new SearchAgain();
    throw err;
  }
}
