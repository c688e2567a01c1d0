// transaction (http.html#transaction): all entries succeed or nothing is
// written. Ids are assigned up front so that urn:uuid and conditional
// references can be rewritten; entries then run through the same router as
// plain requests, against a repository whose writes commit together.
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { newResourceId } from '../../base/ids';
import type { FhirContext } from '../context';
import { conditionalCreateKey } from '../interactions/create';
import { conditionalKey, findConditionalMatch, queryFromString } from '../interactions/conditional';
import { allOk, badRequest, OperationOutcomeError, preconditionFailed, toOperationOutcome } from '../../base/outcomes';
import type { FhirRequest, FhirResult } from '../request';
import { entryToRequest, resultToEntry } from './entry-request';
import { parseConditionalReference, rewriteReferences } from './references';

/** Processing order the specification sets: DELETE, POST, PUT/PATCH, GET. */
const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };

interface PreparedEntry {
  index: number;
  request: FhirRequest;
}

/** Names the failing entry in every issue, so the client can find it. */
function entryError(err: unknown, index: number, resourceType?: string): OperationOutcomeError {
  const outcome = toOperationOutcome(err);
  const where = `Bundle.entry[${index}]`;
  const named: OperationOutcome = {
    ...outcome,
    issue: (outcome.issue ?? []).map((issue) => ({
      ...issue,
      diagnostics: `${where}: ${issue.diagnostics ?? issue.details?.text ?? ''}`,
      expression: issue.expression?.map((e) =>
        resourceType && e.startsWith(resourceType) ? `${where}.resource${e.slice(resourceType.length)}` : `${where}.${e}`
      ) ?? [where],
    })),
  };
  return new OperationOutcomeError(named);
}

export async function processTransaction(bundle: Bundle, ctx: FhirContext): Promise<FhirResult> {
  const entries = bundle.entry ?? [];
  const prepared: PreparedEntry[] = entries.map((entry, index) => {
    try {
      const request = entryToRequest(entry, index, ctx.baseUrl);
      // Entries are changed below (ids, references); never the client's objects.
      request.body = structuredClone(request.body);
      return { index, request };
    } catch (err) {
      throw entryError(err, index);
    }
  });

  // Conditional writes search and then write: hold their criteria until the transaction commits
  // (taken here, all at once and in order, so that two transactions cannot wait on each other).
  const conditional = await Promise.all(
    prepared.flatMap(({ request }): Array<Promise<{ key: string; create?: FhirRequest }>> => {
      const [resourceType] = request.segments;
      if (request.method === 'POST' && request.segments.length === 1 && request.ifNoneExist)
        return [conditionalCreateKey(ctx, resourceType, request.ifNoneExist).then((key) => ({ key, create: request }))];
      if ((request.method === 'PUT' || request.method === 'DELETE') && request.segments.length === 1)
        return [conditionalKey(ctx, resourceType, request.query).then((key) => ({ key }))];
      return [];
    })
  );
  // A conditional create whose resource exists already writes nothing, and a twin finds the same resource:
  // its criteria need not be held while the transaction runs. Held, the practice every message of a GP
  // names (an Organization by ODS code) made all of that practice's messages wait in one line.
  await Promise.all(
    conditional.map(async ({ create }) => {
      if (create) create.matchedId = await matchOf(ctx, create);
    })
  );
  const held = conditional.filter(({ create }) => !create?.matchedId).map(({ key }) => key);
  return ctx.repo.exclusive(held, () => applyTransaction(entries, prepared, ctx));
}

/** The id of the one resource a conditional create's criteria match now; any doubt (an error, several matches) is left to the locked search. */
async function matchOf(ctx: FhirContext, request: FhirRequest): Promise<string | undefined> {
  const [resourceType] = request.segments;
  const match = await findConditionalMatch(ctx, resourceType, queryFromString(request.ifNoneExist as string), 'If-None-Exist').catch(() => undefined);
  return match?.id;
}

async function applyTransaction(entries: BundleEntry[], prepared: PreparedEntry[], ctx: FhirContext): Promise<FhirResult> {
  const resolved = await assignIds(entries, prepared, ctx);
  for (const { index, request } of prepared) {
    if (request.method === 'PATCH') continue;
    try {
      rewriteReferences(request.body, (reference) => resolveReference(reference, resolved, ctx, index));
    } catch (err) {
      throw entryError(err, index);
    }
  }
  await resolveConditionalReferences(prepared, resolved, ctx);

  const results = new Array<BundleEntry>(entries.length);
  await ctx.repo.transaction(async (repo) => {
    const txCtx: FhirContext = { ...ctx, repo };
    const ordered = [...prepared].sort((a, b) => ORDER[a.request.method] - ORDER[b.request.method] || a.index - b.index);
    for (const { index, request } of ordered) {
      try {
        results[index] = resultToEntry(await ctx.dispatch(request, txCtx));
      } catch (err) {
        throw entryError(err, index, request.segments[0]);
      }
    }
  }, new Set(resolved.values()));
  return [allOk(), { resourceType: 'Bundle', type: 'transaction-response', entry: results }];
}

/** fullUrl (and conditional-create criteria) -> "Type/id" after assignment. */
type Resolutions = Map<string, string>;

/**
 * A conditional create whose match was found before the keys were taken
 * (FhirRequest.matchedId; its criteria are not held) is not searched again.
 * The create of each conditional entry with a match answers with it by id,
 * refusing with 409 if it is gone by then.
 */
async function assignIds(entries: BundleEntry[], prepared: PreparedEntry[], ctx: FhirContext): Promise<Resolutions> {
  const resolved: Resolutions = new Map();
  const targets = new Set<string>();
  for (const { index, request } of prepared) {
    const fullUrl = entries[index].fullUrl;
    const [resourceType, id] = request.segments;
    let ref: string | undefined;
    try {
      if (request.method === 'POST' && request.segments.length === 1) {
        const ifNoneExist = request.ifNoneExist;
        const existing = ifNoneExist
          ? (request.matchedId ?? (await findConditionalMatch(ctx, resourceType, queryFromString(ifNoneExist), 'If-None-Exist'))?.id)
          : undefined;
        if (existing) {
          request.matchedId = existing;
          ref = `${resourceType}/${existing}`;
        } else {
          request.assignedId = newResourceId();
          ref = `${resourceType}/${request.assignedId}`;
        }
        if (request.ifNoneExist) resolved.set(`${resourceType}?${request.ifNoneExist}`, ref);
      } else if (request.method === 'PUT' && request.segments.length === 1) {
        const match = await findConditionalMatch(ctx, resourceType, request.query, 'Conditional update');
        const body = request.body as Resource | undefined;
        request.assignedId = match?.id ?? newResourceId();
        ref = `${resourceType}/${match?.id ?? body?.id ?? request.assignedId}`;
      } else if ((request.method === 'PUT' || request.method === 'PATCH' || request.method === 'DELETE') && id) {
        ref = `${resourceType}/${id}`;
      }
    } catch (err) {
      throw entryError(err, index);
    }
    if (ref && request.method !== 'POST') {
      // Two writes to one resource in a transaction have no defined order.
      if (targets.has(ref)) throw entryError(badRequest(`${ref} is written by more than one entry`), index);
      targets.add(ref);
    }
    if (fullUrl && ref) {
      if (resolved.has(fullUrl)) throw entryError(badRequest(`fullUrl ${fullUrl} appears more than once`), index);
      resolved.set(fullUrl, ref);
    }
  }
  return resolved;
}

function resolveReference(reference: string, resolved: Resolutions, ctx: FhirContext, index: number): string {
  const direct = resolved.get(reference) ?? resolved.get(`${ctx.baseUrl}/${reference}`);
  if (direct) return direct;
  if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
    throw badRequest(`${reference} does not match the fullUrl of any entry in this transaction`, [`Bundle.entry[${index}]`]);
  }
  return reference;
}

/** Conditional references must match exactly one resource, in the Bundle or on the server. */
async function resolveConditionalReferences(prepared: PreparedEntry[], resolved: Resolutions, ctx: FhirContext): Promise<void> {
  for (const { index, request } of prepared) {
    const conditionals: string[] = [];
    rewriteReferences(request.body, (reference) => {
      if (parseConditionalReference(reference) && !resolved.has(reference)) conditionals.push(reference);
      return reference;
    });
    try {
      for (const reference of conditionals) {
        const { resourceType, query } = parseConditionalReference(reference) as { resourceType: string; query: string };
        const match = await findConditionalMatch(ctx, resourceType, queryFromString(query), `Conditional reference ${reference}`);
        if (!match) throw preconditionFailed(`Conditional reference ${reference} matches no resource`);
        resolved.set(reference, `${resourceType}/${match.id}`);
      }
    } catch (err) {
      throw entryError(err, index);
    }
    rewriteReferences(request.body, (reference) => resolved.get(reference) ?? reference);
  }
}
