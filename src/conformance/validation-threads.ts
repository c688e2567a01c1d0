// Structure validation on worker threads (validation-thread.ts), so that the
// thread serving requests is free while the CPU-heaviest step of a write
// runs on another core. Each request goes to the thread with the fewest
// waiting.
import { Worker } from 'node:worker_threads';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { workerScript } from '../base/worker-script';
import { WorkerChannel } from '../base/worker-channel';
import type { StructureValidator } from './pipeline';

interface StructureOp {
  resource: Resource;
  profileUrl?: string;
}

export class ValidationThreads {
  private readonly channels: Array<WorkerChannel<StructureOp, string>>;

  constructor(count: number) {
    this.channels = Array.from(
      { length: count },
      () =>
        new WorkerChannel<StructureOp, string>({
          start: () => new Worker(workerScript(__dirname, 'validation-thread')),
          repliesOf: (message) => message as Array<{ seq: number; value?: unknown; error?: string }>,
          decodeError: (error) => new Error(`Validation failed: ${error}`),
          lost: (why) => new Error(`A validation thread stopped: ${why}`),
        })
    );
    // Each thread loads the definitions at start (about a second): while the server starts too.
    this.channels.forEach((c) => c.warm());
  }

  readonly validate: StructureValidator = async (resource, profileUrl) => {
    const channel = this.channels.reduce((least, c) => (c.load < least.load ? c : least));
    return (await channel.send({ resource, profileUrl })) as OperationOutcomeIssue[];
  };

  async close(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.close()));
  }
}
