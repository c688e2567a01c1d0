// Requests to a worker thread, answered by sequence number. Requests made in
// one turn of the event loop go in one message at its end (one wake-up of
// the thread, which can then handle them together); a request waiting for its
// answer keeps the process alive, an idle thread does not. If the thread dies,
// what it was given is refused, and the next request starts a new thread.
import { Worker } from 'node:worker_threads';

export interface ChannelRequest<Op> {
  seq: number;
  op: Op;
}

export interface ChannelReply<E> {
  seq: number;
  value?: unknown;
  error?: E;
}

export interface ChannelOptions<E> {
  /** Starts the thread. */
  start: () => Worker;
  /** The replies a message from the thread carries (a message may carry more than replies). */
  repliesOf: (message: unknown) => Array<ChannelReply<E>>;
  /** The error a reply's error stands for. */
  decodeError: (error: E) => Error;
  /** The error for requests the thread never answered because it stopped. */
  lost: (why: string) => Error;
  /** Told when the thread stops (a later request starts a new one). */
  onStop?: () => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class WorkerChannel<Op, E> {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private outbox: Array<ChannelRequest<Op>> = [];

  constructor(private readonly options: ChannelOptions<E>) {}

  /** Requests not yet answered. */
  get load(): number {
    return this.pending.size;
  }

  /** Starts the thread now, so that its start-up is not paid by the first request. */
  warm(): void {
    if (this.pending.size === 0) this.thread().unref();
  }

  send(op: Op): Promise<unknown> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const worker = this.thread();
      if (this.pending.size === 0) worker.ref();
      this.pending.set(seq, { resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ seq, op });
    });
  }

  /** Sends what this turn queued; the thread may have died since, and the one running now takes it. */
  flush(): void {
    const requests = this.outbox;
    this.outbox = [];
    if (requests.length > 0) this.thread().postMessage(requests);
  }

  private settle(seq: number): Pending | undefined {
    const pending = this.pending.get(seq);
    this.pending.delete(seq);
    if (this.pending.size === 0) this.worker?.unref();
    return pending;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = this.options.start();
    worker.on('message', (message: unknown) => {
      for (const reply of this.options.repliesOf(message)) {
        const pending = this.settle(reply.seq);
        if (reply.error !== undefined) pending?.reject(this.options.decodeError(reply.error));
        else pending?.resolve(reply.value);
      }
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.options.onStop?.();
      // Refused below, so never sent to a new thread.
      this.outbox = [];
      for (const seq of [...this.pending.keys()]) this.settle(seq)?.reject(this.options.lost(why));
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  /**
   * Sends what is queued, then `closing` (a message the thread answers with
   * `closed` once it has handled everything before it), and stops the thread.
   */
  async close(closing?: unknown, closed?: unknown): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    if (closing !== undefined) {
      await new Promise<void>((resolve) => {
        worker.on('message', (message) => message === closed && resolve());
        worker.once('exit', () => resolve());
        this.flush();
        worker.postMessage(closing);
      });
    }
    this.worker = undefined;
    await worker.terminate();
  }
}
