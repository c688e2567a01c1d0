// One model for the server's background jobs (reindex, bulk export,
// directory import): a job is a record in the store (port.ts JobRecord), so
// any process sharing the store can report its progress, take it over when
// the process running it dies, and resume it from its last saved point.
// This file is the record's shape; queue.ts runs jobs over it.

export type JobStatus = 'in-progress' | 'completed' | 'failed';

export interface Job<S> {
  kind: string;
  id: string;
  status: JobStatus;
  /** Work done and work there is, in the job's own unit (resources, services); total is unknown until counted. */
  processed: number;
  total?: number;
  /** The job's own working memory: what was asked, and where to resume. */
  state: S;
  /** The process running the job, and until when it holds it without renewing. */
  leaseOwner?: string;
  leaseUntil?: string;
  /** When a finished job's record (and anything it keeps beside it) is removed; never, when absent. */
  expires?: string;
  /** Why it failed, as the client may read it (details go to the log). */
  error?: string;
  created: string;
  /** The stored record's revision: the compare-and-set of the next save. */
  revision: number;
}

/** What is stored: the job less its key and revision, which the record carries. */
type StoredJob<S> = Omit<Job<S>, 'kind' | 'id' | 'revision'>;

export function serializeJob<S>(job: Job<S>): string {
  const { kind: _kind, id: _id, revision: _revision, ...stored } = job;
  return JSON.stringify(stored satisfies StoredJob<S>);
}

export function parseJob<S>(kind: string, id: string, revision: number, data: string): Job<S> {
  return { ...(JSON.parse(data) as StoredJob<S>), kind, id, revision };
}

/** Whether the job is still to be run (by whoever holds, or next takes, its lease). */
export const isUnfinished = (job: Job<unknown>): boolean => job.status === 'in-progress';
