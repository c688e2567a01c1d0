// Structure validation on worker threads (validation-thread.ts), so that the
// thread serving requests is free while the CPU-heaviest step of a write
// runs on another core. Each request goes to the ready thread with the fewest
// waiting. The threads start a few seconds after the server, so that loading
// the definitions (a second or two of CPU each) never competes with start-up
// and the first requests after a restart; until one is ready, the serving
// thread validates itself, so no write ever waits for a thread.
import { Worker } from 'node:worker_threads';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { workerScript } from '../base/worker-script';
import { WorkerChannel } from '../base/worker-channel';
import type { StructureValidator } from './pipeline';
import { READY, type StructureOp } from './validation-thread-messages';

interface Thread {
  channel: WorkerChannel<StructureOp, string>;
  ready: boolean;
}

/** How long after start the threads start. */
const START_DELAY_MS = 5000;

export class ValidationThreads {
  private readonly threads: Thread[];
  private started = false;
  private readonly startTimer: NodeJS.Timeout;

  /** @param here structure validation on this thread, until a validation thread is ready */
  constructor(
    count: number,
    private readonly here: StructureValidator
  ) {
    this.threads = Array.from({ length: count }, () => {
      const thread: Thread = {
        ready: false,
        channel: new WorkerChannel<StructureOp, string>({
          start: () => new Worker(workerScript(__dirname, 'validation-thread')),
          repliesOf: (message) => {
            if (message === READY) {
              thread.ready = true;
              return [];
            }
            return message as Array<{ seq: number; value?: unknown; error?: string }>;
          },
          decodeError: (error) => new Error(`Validation failed: ${error}`),
          lost: (why) => new Error(`A validation thread stopped: ${why}`),
          onStop: () => (thread.ready = false),
        }),
      };
      return thread;
    });
    this.startTimer = setTimeout(() => this.start(), START_DELAY_MS);
    // Never what keeps the process alive.
    this.startTimer.unref();
  }

  /** The threads configured, and those that have loaded the definitions and validate now. */
  get status(): { threads: number; ready: number } {
    return { threads: this.threads.length, ready: this.threads.filter((t) => t.ready).length };
  }

  private start(): void {
    this.started = true;
    this.threads.forEach((t) => t.channel.warm());
  }

  readonly validate: StructureValidator = async (resource, profileUrl) => {
    const ready = this.threads.filter((t) => t.ready);
    if (ready.length === 0) {
      // A thread that stopped starts again (loading in the background); this thread validates meanwhile.
      if (this.started) this.start();
      return this.here(resource, profileUrl);
    }
    const least = ready.reduce((a, b) => (b.channel.load < a.channel.load ? b : a));
    return (await least.channel.send({ resource: JSON.stringify(resource), profileUrl })) as OperationOutcomeIssue[];
  };

  async close(): Promise<void> {
    clearTimeout(this.startTimer);
    await Promise.all(this.threads.map((t) => t.channel.close()));
  }
}
