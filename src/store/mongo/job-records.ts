// Job records in MongoDB (port.ts JobRecord): one document per job in `jobs`
// (_id = kind/id), replaced in place.
//
// The compare-and-set cannot rest on an update filtered by revision alone:
// FerretDB 1.24 runs such an update as a read and then a write, so two
// writers on one revision were both seen to succeed. Each write past the
// first therefore first claims its new revision by inserting a document with
// a unique _id (kind/id/revision) into `job_revisions`: one writer gets each
// revision, and only then updates the record (still filtered by the revision
// it read, which a stale writer no longer matches). A claim is removed once
// the next revision is written, so a job keeps one or two. Within a process
// writes of one job also go one at a time.
//
// A process can die between its claim and its update (a kill during a lease
// renewal). Its claim holds the revision's data, so the write is not lost
// with it: a later writer that finds the claim with the record still one
// revision behind finishes that update itself, and the job moves on (before,
// the orphaned claim refused every later write and the job never finished).
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { JobRecord } from '../port';
import { KeyedLocks } from '../keyed-lock';

const JOBS = 'jobs';
const CLAIMS = 'job_revisions';

interface JobDoc extends JobRecord {
  _id: string;
}
interface ClaimDoc {
  _id: string;
  /** The job's kind/id, to remove its claims with it. */
  job: string;
  /** The revision claimed, and its data: what the record becomes. */
  revision: number;
  data: string;
  claimed: Date;
}

/**
 * A claim whose record is still behind after this long is a dead (or stalled)
 * writer's, and others finish its write. A live writer updates within a round
 * trip of claiming; waiting keeps a slow one from racing its own finisher.
 */
const ORPHANED_CLAIM_MS = 2000;

export class MongoJobRecords {
  private readonly locks = new KeyedLocks();

  constructor(
    private readonly db: Db,
    private readonly isDuplicateKey: (err: unknown) => boolean
  ) {}

  private jobs(): Collection<JobDoc> {
    return this.db.collection<JobDoc>(JOBS);
  }
  private claims(): Collection<ClaimDoc> {
    return this.db.collection<ClaimDoc>(CLAIMS);
  }

  async createIndexes(): Promise<void> {
    await this.jobs().createIndex({ kind: 1 });
    await this.claims().createIndex({ job: 1 });
  }

  async read(kind: string, id: string): Promise<JobRecord | undefined> {
    const doc = await this.jobs().findOne({ _id: `${kind}/${id}` });
    return doc ? { kind: doc.kind, id: doc.id, revision: doc.revision, data: doc.data } : undefined;
  }

  async list(kind: string): Promise<JobRecord[]> {
    const docs = await this.jobs()
      .find({ kind: { $eq: kind } })
      .toArray();
    return docs.map((doc) => ({ kind: doc.kind, id: doc.id, revision: doc.revision, data: doc.data })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async write(kind: string, id: string, data: string, expected: number): Promise<boolean> {
    const job = `${kind}/${id}`;
    const { release } = await this.locks.acquire([job]);
    try {
      // The record's own unique _id decides who creates it.
      if (expected === 0) return await this.inserted(() => this.jobs().insertOne({ _id: job, kind, id, revision: 1, data }));
      const revision = expected + 1;
      const claim: ClaimDoc = { _id: `${job}/${revision}`, job, revision, data, claimed: new Date() };
      if (!(await this.inserted(() => this.claims().insertOne(claim)))) {
        await this.finishOrphanedClaim(job, revision);
        return false;
      }
      const result = await this.jobs().updateOne({ _id: job, revision: { $eq: expected } }, { $set: { data, revision } });
      // Not updated: the record was past `expected` (this writer was stale; the claim it got is of a
      // revision written long ago, its own claim since removed), or another writer finished this claim.
      if (result.modifiedCount !== 1 && (await this.jobs().findOne({ _id: job }))?.revision !== revision) return false;
      await this.claims().deleteOne({ _id: `${job}/${expected}` });
      return true;
    } finally {
      release();
    }
  }

  async delete(kind: string, id: string, expected?: number): Promise<boolean> {
    const job = `${kind}/${id}`;
    const { release } = await this.locks.acquire([job]);
    try {
      const filter = expected === undefined ? { _id: job } : { _id: job, revision: { $eq: expected } };
      const removed = (await this.jobs().deleteOne(filter)).deletedCount === 1;
      if (removed) await this.claims().deleteMany({ job: { $eq: job } });
      return removed;
    } finally {
      release();
    }
  }

  /** Writes the claimed revision into the record when its writer died before doing so. */
  private async finishOrphanedClaim(job: string, revision: number): Promise<void> {
    const claim = await this.claims().findOne({ _id: `${job}/${revision}` });
    // A claim without data is an earlier release's: its write cannot be finished, so the claim goes and the revision is free again.
    if (!claim || Date.now() - (claim.claimed?.getTime() ?? 0) < ORPHANED_CLAIM_MS) return;
    if (typeof claim.data !== 'string') {
      await this.claims().deleteOne({ _id: claim._id, claimed: { $exists: false } });
      return;
    }
    await this.jobs().updateOne({ _id: job, revision: { $eq: revision - 1 } }, { $set: { data: claim.data, revision } });
  }

  private async inserted(insert: () => Promise<unknown>): Promise<boolean> {
    try {
      await insert();
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && this.isDuplicateKey(err)) return false;
      throw err;
    }
  }
}
