// The referral journey's rules in the write path (DOMAIN.md sections 1 and 4):
// - every social prescribing referral gets its fulfilment Task, in the same commit;
// - an onward referral (a ServiceRequest basedOn a referral) gets its own Task, partOf the referral's Task;
// - Tasks follow the state machine (task-state-machine.ts);
// - the referral follows its Task: completed -> completed; and a referral the
//   referrer revokes cancels its open Tasks;
// - a referral that is completed, revoked or entered-in-error stays so;
// - a self-referral (requester is the Patient) must say so in its source of referral.
import type { Reference, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { businessRule, conflict } from '../base/outcomes';
import type { Change, Repository, WriteRules } from '../store/repository';
import { SNOMED, SOCIAL_PRESCRIBING_REFERRAL } from './server-profiles';
import { isTask, prepareTask, TERMINAL_TASK_STATUSES } from './task-state-machine';

export const SOURCE_OF_REFERRAL_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest';
export const SELF_REFERRAL = '310434002';
const TASK_CODE = { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] };
const FINAL_REFERRAL_STATUSES = new Set(['completed', 'revoked', 'entered-in-error']);
const OWNER_TYPES = new Set(['Organization', 'HealthcareService', 'PractitionerRole']);
/** A referral the referrer withdrew (revoked) or that was sent in error: its open Tasks end with it. */
const WITHDRAWN = new Set(['revoked', 'entered-in-error']);

export function isReferral(r: Resource | undefined): r is ServiceRequest {
  return r?.resourceType === 'ServiceRequest' && (r.code?.coding ?? []).some((c) => c.system === SNOMED && c.code === SOCIAL_PRESCRIBING_REFERRAL);
}

const isServiceRequest = (r: Resource | undefined): r is ServiceRequest => r?.resourceType === 'ServiceRequest';
const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

function prepareReferral(sr: ServiceRequest, previous: ServiceRequest | undefined): ServiceRequest {
  if (previous && FINAL_REFERRAL_STATUSES.has(previous.status) && sr.status !== previous.status) {
    throw conflict(`The referral is ${previous.status}; it cannot become ${sr.status}`);
  }
  if (sr.requester?.reference?.startsWith('Patient/')) {
    const source = sr.extension?.find((e) => e.url === SOURCE_OF_REFERRAL_URL)?.valueCodeableConcept;
    const self = (source?.coding ?? []).some((c) => c.system === SNOMED && c.code === SELF_REFERRAL);
    if (!self)
      throw businessRule(
        `A referral requested by the patient is a self-referral: its source of referral must be ${SNOMED}|${SELF_REFERRAL}`,
        'ServiceRequest.extension'
      );
  }
  return sr;
}

async function find<T extends Resource>(repo: Repository, resourceType: string, query: Record<string, string[]>): Promise<T[]> {
  return (await repo.find(resourceType, query, 100)).map((m) => m.resource as T);
}

/** Tasks focused on a referral, as the unit sees them (written in it, or stored: none, when its id is new). */
async function tasksOf(repo: Repository, changes: Change[], referral: string, freshId = false): Promise<Task[]> {
  const stored = freshId ? [] : await find<Task>(repo, 'Task', { focus: [referral] });
  const inUnit = changes.map((c) => c.version.resource).filter((r): r is Task => isTask(r) && r.focus?.reference === referral);
  const byId = new Map<string, Task>();
  for (const t of [...stored, ...inUnit]) {
    const latest = await repo.readLatest('Task', t.id as string);
    if (latest?.resource && !latest.deleted) byId.set(t.id as string, latest.resource as Task);
  }
  return [...byId.values()];
}

function newTask(focus: ServiceRequest, now: string, extra: Partial<Task> = {}): Task {
  const owner = (focus.performer ?? []).find((p: Reference) => OWNER_TYPES.has(p.reference?.split('/')[0] ?? ''));
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: TASK_CODE,
    focus: { reference: ref(focus) },
    for: focus.subject,
    authoredOn: now,
    lastModified: now,
    requester: focus.requester,
    ...(owner ? { owner } : {}),
    ...extra,
  };
}

/** A referral the referrer just withdrew, or just marked sent in error. */
function isWithdrawal(resource: Resource | undefined, previous: Resource | undefined): resource is ServiceRequest {
  return isReferral(resource) && !!previous && WITHDRAWN.has(resource.status) && (previous as ServiceRequest).status !== resource.status;
}

/** A Task that just moved to completed (one created completed arrives mid-journey and completes nothing). */
function isCompletion(resource: Resource | undefined, previous: Resource | undefined): resource is Task {
  return isTask(resource) && !!previous && resource.status === 'completed' && (previous as Task).status !== 'completed';
}

export const referralWorkflow: WriteRules = {
  prepare(resource, previous, now) {
    if (isTask(resource)) return prepareTask(resource, isTask(previous) ? previous : undefined, now);
    if (isReferral(resource)) return prepareReferral(resource, isServiceRequest(previous) ? previous : undefined);
    return resource;
  },

  hasFollowUps(resource, previous) {
    if (isServiceRequest(resource)) {
      // A new referral brings its Task, an onward one its sub-Task; a withdrawn one ends its Tasks.
      if (!previous) return isReferral(resource) || ((resource as ServiceRequest).basedOn ?? []).length > 0;
      return isWithdrawal(resource, previous);
    }
    return isCompletion(resource, previous);
  },

  async followUp(repo, changes) {
    const now = new Date().toISOString();
    for (const { version, previous, freshId } of changes) {
      const resource = version.resource;
      if (isServiceRequest(resource) && !previous && resource.status === 'active') {
        if (isReferral(resource)) {
          // The referral's own Task, unless the writer (e.g. a transaction Bundle) gave one.
          if ((await tasksOf(repo, changes, ref(resource), freshId)).length === 0) await repo.create(newTask(resource, now));
        } else {
          await createOnwardTask(repo, changes, resource, now, freshId);
        }
      }
      if (isWithdrawal(resource, previous)) {
        // Withdrawn: open Tasks are cancelled (a finished one makes the withdrawal fail);
        // sent in error: every Task is entered-in-error too.
        const inError = resource.status === 'entered-in-error';
        for (const task of await tasksOf(repo, changes, ref(resource))) {
          if (task.status === 'entered-in-error' || (!inError && task.status === 'cancelled')) continue;
          if (!inError && TERMINAL_TASK_STATUSES.has(task.status)) {
            throw conflict(`The referral cannot be withdrawn: its Task ${task.id} is already ${task.status}`);
          }
          await repo.update(
            inError ? { ...task, status: 'entered-in-error' } : { ...task, status: 'cancelled', statusReason: { text: 'Referral withdrawn by the referrer' } }
          );
        }
      }
      if (isCompletion(resource, previous)) {
        await completeFocus(repo, resource);
      }
    }
  },
};

/** An onward referral to a community service gets its own Task, partOf the referral's Task. */
async function createOnwardTask(repo: Repository, changes: Change[], onward: ServiceRequest, now: string, freshId?: boolean): Promise<void> {
  for (const basis of onward.basedOn ?? []) {
    const target = basis.reference;
    if (!target?.startsWith('ServiceRequest/')) continue;
    const referral = (await repo.readLatest('ServiceRequest', target.split('/')[1]))?.resource;
    if (!isReferral(referral)) continue;
    const parent = (await tasksOf(repo, changes, target))[0];
    if ((await tasksOf(repo, changes, ref(onward), freshId)).length > 0) return;
    await repo.create(newTask(onward, now, parent ? { partOf: [{ reference: `Task/${parent.id}` }] } : {}));
    return;
  }
}

/** A referral whose Task completed is completed. */
async function completeFocus(repo: Repository, task: Task): Promise<void> {
  const focus = task.focus?.reference;
  if (!focus?.startsWith('ServiceRequest/')) return;
  const latest = await repo.readLatest('ServiceRequest', focus.split('/')[1]);
  const sr = latest?.resource as ServiceRequest | undefined;
  if (!isReferral(sr) || latest?.deleted || sr.status !== 'active') return;
  await repo.update({ ...sr, status: 'completed' });
}
