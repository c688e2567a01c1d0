// The serving thread's side of the writer thread (writer-thread.ts): sends
// each change as a message and answers it when its group commit is on disk.
// If the thread dies, what it was given is refused as unavailable (nothing
// was acknowledged), and the next change starts a new one.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../port';
import { decodeError, type BatchReply, type WriterOp, type WriterOptions } from './writer-protocol';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * The writer thread's script. A worker thread runs JavaScript files: where the
 * sources run as TypeScript without being compiled to files (the test runner),
 * that is the build's copy, which `npm test` makes first.
 */
function writerScript(): string {
  const compiled = path.join(__dirname, 'writer-thread.js');
  return fs.existsSync(compiled) ? compiled : path.join(__dirname, '../../../dist/src/store/embedded/writer-thread.js');
}

export class WriterClient {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | undefined;

  /**
   * @param options the database and how to sync it
   * @param onFields told of index field numbers a commit interned, before that commit is answered
   */
  constructor(
    private readonly options: WriterOptions,
    private readonly onFields: (fields: Array<[string, number]>) => void
  ) {}

  send(op: WriterOp): Promise<unknown> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('The embedded store is closed'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const worker = this.thread();
      // A change waiting for its answer keeps the process alive; an idle writer does not.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ seq, op });
    });
  }

  private settle(seq: number): Pending | undefined {
    const pending = this.pending.get(seq);
    this.pending.delete(seq);
    if (this.pending.size === 0) this.worker?.unref();
    return pending;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(writerScript(), { workerData: this.options });
    worker.on('message', (message: BatchReply | 'closed') => {
      if (message === 'closed') return;
      if (message.fields.length > 0) this.onFields(message.fields);
      for (const reply of message.replies) {
        const pending = this.settle(reply.seq);
        if (reply.error) pending?.reject(decodeError(reply.error));
        else pending?.resolve(reply.value);
      }
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const seq of [...this.pending.keys()]) this.settle(seq)?.reject(new StoreUnavailableError(`The embedded store's writer stopped: ${why}`));
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Lets every change already sent finish (committed and synced), then closes the writer's connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      worker.ref();
      await new Promise<void>((resolve) => {
        worker.on('message', (message) => message === 'closed' && resolve());
        worker.once('exit', () => resolve());
        worker.postMessage('close');
      });
      this.worker = undefined;
      await worker.terminate();
    })();
    return this.closing;
  }
}
