// The serving thread's side of the reader thread (reader-thread.ts): sends a
// search's page or count, and answers it with the rows. If the thread dies,
// what it was given is refused as unavailable, and the next search starts a
// new one.
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError, type StoreQuery } from '../port';
import type { Filter } from '../search/filter';
import { workerScript } from '../../base/worker-script';
import { WorkerChannel } from '../../base/worker-channel';
import { decodeError, type WriterError } from './writer-protocol';
import type { ReaderOp, ReaderOptions, ReaderReply } from './reader-protocol';
import type { VersionRow } from './current-row-cache';

export class ReaderClient {
  private readonly channel: WorkerChannel<ReaderOp, WriterError>;
  private closed = false;

  constructor(options: ReaderOptions) {
    this.channel = new WorkerChannel<ReaderOp, WriterError>({
      start: () => new Worker(workerScript(__dirname, 'reader-thread'), { workerData: options }),
      repliesOf: (message) => (message === 'closed' ? [] : (message as ReaderReply[])),
      decodeError,
      lost: (why) => new StoreUnavailableError(`The embedded store's reader stopped: ${why}`),
    });
    // Started now, so that its start-up is not paid by the first search.
    this.channel.warm();
  }

  async page(query: StoreQuery): Promise<VersionRow[]> {
    return (await this.send({ kind: 'page', query })) as VersionRow[];
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    return (await this.send({ kind: 'count', resourceType, filter })) as number;
  }

  /** Opens the thread's connection again, after the searches already sent. */
  reopen(): void {
    // Nothing waits for it: a thread that stops before it is answered opens a new connection when it starts again.
    this.send({ kind: 'reopen' }).catch(() => undefined);
  }

  /** The SQL of every statement the thread ran since the last call; the first call starts recording. */
  async trace(): Promise<string[]> {
    return (await this.send({ kind: 'trace' })) as string[];
  }

  private send(op: ReaderOp): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('The embedded store is closed'));
    return this.channel.send(op);
  }

  /** Lets the searches already sent finish, then closes the thread's connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.channel.close('close', 'closed');
  }
}
