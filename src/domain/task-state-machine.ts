// The referral Task's state machine (DOMAIN.md section 4, after the HL7
// Gravity SDOH closed-loop referral pattern), and the fields the server keeps
// for it: lastModified, executionPeriod.start on the first move to
// in-progress, executionPeriod.end on a terminal state.
import type { Resource, Task } from '@medplum/fhirtypes';
import { businessRule, conflict } from '../base/outcomes';

const TRANSITIONS: Record<string, readonly string[]> = {
  draft: ['requested'],
  requested: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'on-hold', 'cancelled', 'completed', 'failed'],
  'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
  'on-hold': ['in-progress', 'cancelled', 'completed', 'failed'],
};

export const TERMINAL_TASK_STATUSES = new Set(['rejected', 'cancelled', 'completed', 'failed', 'entered-in-error']);
/** Business status (contact attempted, plan agreed, ...) belongs to work under way. */
const BUSINESS_STATUS_ALLOWED = new Set(['accepted', 'in-progress']);

export function isAllowedTransition(from: string, to: string): boolean {
  return from === to || to === 'entered-in-error' || (TRANSITIONS[from] ?? []).includes(to);
}

/** Checks a new Task version against the previous one and sets the fields the server keeps. */
export function prepareTask(task: Task, previous: Task | undefined, now: string): Task {
  const from = previous?.status;
  const to = task.status;
  // A new Task may start in any state (a referral moved from another system
  // arrives mid-journey); from then on, only the transitions of the machine.
  if (from && !isAllowedTransition(from, to)) {
    const allowed = TRANSITIONS[from]?.join(', ');
    throw conflict(
      `A Task cannot move from ${from} to ${to}` + (allowed ? `; from ${from} it can move to ${allowed} or entered-in-error` : `; ${from} is a final state`)
    );
  }
  const businessChanged = JSON.stringify(task.businessStatus) !== JSON.stringify(previous?.businessStatus);
  if (previous && task.businessStatus && businessChanged && !BUSINESS_STATUS_ALLOWED.has(to)) {
    throw businessRule(`businessStatus can only be set while the Task is accepted or in-progress, not ${to}`, 'Task.businessStatus');
  }
  const next: Task = { ...task, lastModified: now };
  if (to === 'in-progress' && !next.executionPeriod?.start) next.executionPeriod = { ...next.executionPeriod, start: now };
  if (TERMINAL_TASK_STATUSES.has(to) && from !== to && !next.executionPeriod?.end) next.executionPeriod = { ...next.executionPeriod, end: now };
  return next;
}

export const isTask = (r: Resource | undefined): r is Task => r?.resourceType === 'Task';
