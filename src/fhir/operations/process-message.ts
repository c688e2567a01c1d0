// $process-message (messageheader-operation-process-message.html) for referrals
// sent the NHS Booking and Referral Standard way (DOMAIN.md section 5).
//
// - event servicerequest-request, reason new: the message's resources are
//   stored as one transaction (patients matched by NHS number, organisations by
//   ODS code, practitioners and roles by identifier, so nothing known is
//   duplicated); the referral gets its Task in the same commit.
// - reason update: the referral (found by its identifier) takes the message's
//   version; status revoked is a cancellation and cancels the Task.
// - reason delete: the referral and its Tasks become entered-in-error.
//
// The answer is a response message whose MessageHeader.response.identifier is
// the request Bundle.id, code ok; a failure writes nothing and answers with the
// error status and a fatal-error response carrying the OperationOutcome.
//
// Idempotency (decided here): a message is recognised by its sender and its
// Bundle.id, and also by X-Request-Id when given (security: another sender's
// message with the same id is a different message, never answered with the
// first sender's response). An update or cancellation changes only a referral
// the sender requested. A repeat writes nothing and gets the
// original response again, with 200. The record of the response commits with
// the message's writes, so two deliveries at once still store one referral.
import { NHS_NUMBER_SYSTEM, ODS_ORGANIZATION_SYSTEM, ODS_SITE_SYSTEM } from '../../conformance/checks/nhs-number';
import type { Basic, Bundle, BundleEntry, Identifier, MessageHeader, OperationOutcome, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { createHash, randomUUID } from 'node:crypto';
import { isReferral } from '../../domain/referral-workflow';
import { processTransaction } from '../bundle/transaction';
import type { FhirContext, FhirHandler } from '../context';
import { findConditionalMatch } from '../interactions/conditional';
import { allOk, badRequest, forbidden, notFound, OperationOutcomeError, OperationOutcomeErrorWithBody, toOperationOutcome } from '../../base/outcomes';
import type { FhirRequest } from '../request';
import { registerOperation } from './registry';
import { checkBundleEntries } from '../router';

export const BARS_EVENTS = 'https://fhir.nhs.uk/CodeSystem/message-events-bars';
const ODS_CODES = [ODS_ORGANIZATION_SYSTEM, ODS_SITE_SYSTEM];

/** Stored ids for the idempotency records: derived from the keys, so a repeat finds them. */
const recordId = (kind: string, key: string): string => `${kind}-${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;

function header(bundle: Bundle): MessageHeader {
  const first = bundle.entry?.[0]?.resource;
  if (first?.resourceType !== 'MessageHeader') throw badRequest('The first entry of a message Bundle is its MessageHeader', ['Bundle.entry[0]']);
  return first;
}

function reasonOf(messageHeader: MessageHeader): string {
  return messageHeader.reason?.coding?.find((c) => c.code)?.code ?? 'new';
}

/** The identifier a resource of this type is matched by, so a known one is not created twice. */
function matchingIdentifier(resource: Resource): Identifier | undefined {
  const identifiers = (resource as { identifier?: Identifier[] }).identifier ?? [];
  const usable = identifiers.filter((i) => i.system && i.value);
  switch (resource.resourceType) {
    case 'Patient':
      return usable.find((i) => i.system === NHS_NUMBER_SYSTEM);
    case 'Organization':
      return usable.find((i) => ODS_CODES.includes(i.system as string));
    case 'Practitioner':
    case 'PractitionerRole':
    case 'HealthcareService':
    case 'Location':
      return usable[0];
    default:
      return undefined;
  }
}

/** The message's resources as transaction entries, with conditional creates for what may already be known. */
function toTransaction(bundle: Bundle): Bundle {
  const entries: BundleEntry[] = (bundle.entry ?? []).slice(1).map((entry, i) => {
    const resource = entry.resource;
    if (!resource) throw badRequest(`Bundle.entry[${i + 1}] has no resource`);
    const identifier = matchingIdentifier(resource);
    return {
      fullUrl: entry.fullUrl,
      resource,
      request: {
        method: 'POST',
        url: resource.resourceType,
        ...(identifier ? { ifNoneExist: `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}` } : {}),
      },
    };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/**
 * The transaction leaves out the MessageHeader (entry 0), so its entry n is the
 * message's entry n + 1: errors name the entry as the sender sent it.
 */
function locatedInMessage(err: unknown): unknown {
  // Anything but an outcome (a failure of the server itself) goes on as it is, to be logged as such.
  if (!(err instanceof OperationOutcomeError)) return err;
  const outcome = err.outcome;
  const shift = (text: string): string => text.replace(/Bundle\.entry\[(\d+)\]/g, (_m, n: string) => `Bundle.entry[${Number(n) + 1}]`);
  return new OperationOutcomeError({
    ...outcome,
    issue: (outcome.issue ?? []).map((issue) => ({
      ...issue,
      ...(issue.diagnostics ? { diagnostics: shift(issue.diagnostics) } : {}),
      ...(issue.expression ? { expression: issue.expression.map(shift) } : {}),
    })),
  });
}

function referralOf(bundle: Bundle, messageHeader: MessageHeader): ServiceRequest {
  const focus = messageHeader.focus?.[0]?.reference;
  const entries = bundle.entry ?? [];
  const found = entries.find((e) => e.fullUrl === focus || (focus && e.resource && `${e.resource.resourceType}/${e.resource.id}` === focus))?.resource;
  const referral = (found ?? entries.map((e) => e.resource).find((r) => r?.resourceType === 'ServiceRequest')) as ServiceRequest | undefined;
  if (referral?.resourceType !== 'ServiceRequest') throw badRequest('The message has no ServiceRequest in focus', ['MessageHeader.focus']);
  return referral;
}

const literal = (r: { reference?: string } | undefined): boolean => !!r?.reference && !r.reference.startsWith('urn:');

/** reason update / delete: the referral already stored, found by the referrer's identifier. */
async function changeReferral(ctx: FhirContext, referral: ServiceRequest, reason: string): Promise<ServiceRequest> {
  const identifier = (referral.identifier ?? []).find((i) => i.system && i.value);
  if (!identifier) throw badRequest('A referral update must carry the identifier of the referral it updates', ['ServiceRequest.identifier']);
  const existing = await findConditionalMatch(ctx, 'ServiceRequest', { identifier: [`${identifier.system}|${identifier.value}`] }, 'Referral update');
  if (!existing?.resource) throw notFound(`No referral with identifier ${identifier.system}|${identifier.value} is known`);
  const current = existing.resource as ServiceRequest;
  // Only the referrer changes a referral: one the sender may see but did not make (a link worker's
  // patient referred by a practice) is refused, and so is moving the referral to another requester.
  if (!(await ctx.access.actsFor(current.requester?.reference))) {
    throw forbidden(`Access denied: only the referral's requester may update or cancel it (${identifier.system}|${identifier.value})`);
  }
  const next: ServiceRequest =
    reason === 'delete'
      ? { ...current, status: 'entered-in-error' }
      : {
          ...referral,
          id: current.id,
          meta: undefined,
          // The patient and referrer stay as stored unless the update points at them literally.
          subject: literal(referral.subject) ? referral.subject : current.subject,
          requester: literal(referral.requester) ? referral.requester : current.requester,
          supportingInfo: referral.supportingInfo?.every(literal) ? referral.supportingInfo : current.supportingInfo,
        };
  if (next.requester?.reference !== current.requester?.reference && !(await ctx.access.actsFor(next.requester?.reference))) {
    throw forbidden('Access denied: a referral update may not name a requester outside your organisation (ServiceRequest.requester)');
  }
  const { version } = await ctx.repo.update(next);
  return version.resource as ServiceRequest;
}

function responseMessage(
  ctx: FhirContext,
  request: Bundle,
  requestHeader: MessageHeader,
  code: 'ok' | 'fatal-error',
  content: Resource[],
  outcome?: OperationOutcome
): Bundle {
  const outcomeUrl = `urn:uuid:${randomUUID()}`;
  const messageHeader: MessageHeader = {
    resourceType: 'MessageHeader',
    eventCoding: { system: BARS_EVENTS, code: 'servicerequest-response' },
    ...(requestHeader.source?.endpoint ? { destination: [{ endpoint: requestHeader.source.endpoint }] } : {}),
    source: { endpoint: ctx.baseUrl, name: 'Social prescribing FHIR server' },
    response: { identifier: request.id as string, code, ...(outcome ? { details: { reference: outcomeUrl } } : {}) },
    focus: content.filter((r) => r.resourceType === 'ServiceRequest').map((r) => ({ reference: `${r.resourceType}/${r.id}` })),
  };
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'message',
    timestamp: new Date().toISOString(),
    entry: [
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: messageHeader },
      ...content.map((r) => ({ fullUrl: `${ctx.baseUrl}/${r.resourceType}/${r.id}`, resource: r })),
      ...(outcome ? [{ fullUrl: outcomeUrl, resource: outcome }] : []),
    ],
  };
}

/** The response stored for an earlier delivery: by Bundle.id, or through the X-Request-Id record. */
async function storedResponse(ctx: FhirContext, keys: MessageKeys): Promise<Bundle | undefined> {
  const byBundle = await ctx.repo.readLatest('Bundle', keys.bundle);
  if (byBundle?.resource && !byBundle.deleted) return byBundle.resource as Bundle;
  if (!keys.request) return undefined;
  const marker = (await ctx.repo.readLatest('Basic', keys.request))?.resource as Basic | undefined;
  const target = marker?.subject?.reference?.split('/')[1];
  return target ? ((await ctx.repo.readLatest('Bundle', target))?.resource as Bundle | undefined) : undefined;
}

/** A twin delivered at the same time won the race; its commit may still be reaching the disk. */
async function awaitTwin(ctx: FhirContext, keys: MessageKeys): Promise<Bundle | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const found = await storedResponse(ctx, keys);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

/** Who sent the message, for its idempotency keys: the token's issuer and subject, or (without authentication) the message's source and sender. */
function senderOf(ctx: FhirContext, messageHeader: MessageHeader): string {
  const { caller } = ctx.access;
  if (!caller.unrestricted) return `token ${caller.issuer} ${caller.subject}`;
  return `message ${messageHeader.source?.endpoint ?? ''} ${messageHeader.sender?.reference ?? ''}`;
}

interface MessageKeys {
  /** Id of the stored response, derived from Bundle.id. */
  bundle: string;
  /** Id of the Basic record that points X-Request-Id at it. */
  request?: string;
}

const processMessage: FhirHandler = async (request: FhirRequest, ctx) => {
  const bundle = request.body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message') throw badRequest('$process-message takes a Bundle of type message');
  checkBundleEntries(bundle);
  if (!bundle.id) throw badRequest('A message Bundle needs an id: it identifies the message for replies and repeats', ['Bundle.id']);
  const requestHeader = header(bundle);
  // Keys are the sender's own: another sender's message with the same Bundle.id is a different message.
  const sender = senderOf(ctx, requestHeader);
  const keys: MessageKeys = {
    bundle: recordId('msg', `${sender}\n${bundle.id}`),
    request: request.requestId ? recordId('req', `${sender}\n${request.requestId}`) : undefined,
  };
  const earlier = await storedResponse(ctx, keys);
  if (earlier) return [allOk('This message was processed before; nothing new was written'), earlier];

  try {
    const event = requestHeader.eventCoding;
    if (event?.system !== BARS_EVENTS || event.code !== 'servicerequest-request') {
      throw badRequest(`Only ${BARS_EVENTS}|servicerequest-request messages are processed here`, ['MessageHeader.eventCoding']);
    }
    const reason = reasonOf(requestHeader);
    const response = await ctx.repo.transaction(async (repo) => {
      const txCtx: FhirContext = { ...ctx, repo };
      let content: Resource[];
      if (reason === 'new') {
        const [, result] = await processTransaction(toTransaction(bundle), txCtx).catch((err: unknown) => {
          throw locatedInMessage(err);
        });
        content = ((result as Bundle).entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
        if (!content.some(isReferral))
          throw badRequest('A referral message carries a social prescribing referral (ServiceRequest coded 871731000000106)', ['MessageHeader.focus']);
      } else if (reason === 'update' || reason === 'delete') {
        content = [await changeReferral(txCtx, referralOf(bundle, requestHeader), reason)];
      } else {
        throw badRequest(`Message reason ${reason} is not one of new, update, delete`, ['MessageHeader.reason']);
      }
      const reply = { ...responseMessage(ctx, bundle, requestHeader, 'ok', content), id: keys.bundle };
      // The records of this message commit with its writes: a repeat finds them, a concurrent twin conflicts.
      // Created, never updated: a twin that got here first (even one that ran before this one, while
      // this one waited for its conditional creates' locks) makes this a conflict, answered as the twin was.
      // Made here from the message's resources, which their own writes have just validated.
      const stored = (await repo.create(reply, keys.bundle, { validated: true })).version.resource as Bundle;
      if (keys.request) {
        await repo.create(
          {
            resourceType: 'Basic',
            id: keys.request,
            code: { coding: [{ system: `${ctx.baseUrl}/processed-message`, code: 'x-request-id' }] },
            subject: { reference: `Bundle/${keys.bundle}` },
          } as Basic,
          keys.request
        );
      }
      return stored;
    });
    return [allOk(), response];
  } catch (err) {
    const outcome = toOperationOutcome(err);
    // A twin delivered at the same time won the race: answer as it did.
    if (outcome.id === 'conflict') {
      const twin = await awaitTwin(ctx, keys);
      if (twin) return [allOk('This message was processed before; nothing new was written'), twin];
    }
    throw new OperationOutcomeErrorWithBody(outcome, responseMessage(ctx, bundle, requestHeader, 'fatal-error', [], outcome));
  }
};

export function registerProcessMessage(): void {
  registerOperation({
    name: 'process-message',
    definition: 'http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message',
    resourceTypes: [],
    system: true,
    type: false,
    instance: false,
    description: 'Processes a referral message (NHS Booking and Referral Standard): a new referral, an update or a cancellation.',
    affectsState: true,
    // A referral message creates the referral, its patient and its Task.
    authorize: (ctx) => ctx.access.require('ServiceRequest', 'c'),
    handler: processMessage,
  });
}
