// The serving thread's side of the writer thread (writer-thread.ts): sends
// each change, and answers it when its group commit is on disk. If the
// thread dies, what it was given is refused as unavailable (nothing was
// acknowledged), and the next change starts a new one.
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../port';
import { workerScript } from '../../base/worker-script';
import { WorkerChannel } from '../../base/worker-channel';
import { decodeError, type BatchReply, type WriterError, type WriterOp, type WriterOptions } from './writer-protocol';

export class WriterClient {
  private readonly channel: WorkerChannel<WriterOp, WriterError>;
  private closing: Promise<void> | undefined;
  /** Why the writer refuses every write (a failed sync of the log), once it does. */
  failure: string | undefined;

  /**
   * @param options the database and how to sync it
   * @param onFields told of index field numbers a commit interned, before that commit is answered
   */
  constructor(options: WriterOptions, onFields: (fields: Array<[string, number]>) => void) {
    this.channel = new WorkerChannel<WriterOp, WriterError>({
      start: () => new Worker(workerScript(__dirname, 'writer-thread'), { workerData: options }),
      repliesOf: (message) => {
        if (message === 'closed') return [];
        const batch = message as BatchReply;
        if (batch.fields.length > 0) onFields(batch.fields);
        this.failure ??= batch.failure;
        return batch.replies;
      },
      decodeError,
      lost: (why) => new StoreUnavailableError(`The embedded store's writer stopped: ${why}`),
    });
  }

  send(op: WriterOp): Promise<unknown> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('The embedded store is closed'));
    return this.channel.send(op);
  }

  /** Lets every change already sent finish (committed and synced), then closes the writer's connection. */
  close(): Promise<void> {
    this.closing ??= this.channel.close('close', 'closed');
    return this.closing;
  }
}
