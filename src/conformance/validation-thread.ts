// A validation thread: structure validation (structure.ts) off the thread
// that serves requests. It loads the same definitions the server loads at
// start (R4 and the project's profiles, from the same files), so it finds
// the same issues; the serving thread sends a resource and a profile url.
import { parentPort } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { ConformanceRegistry } from './registry';
import { structureIssues } from './structure';
import { READY, type StructureOp } from './validation-thread-messages';

interface StructureRequest {
  seq: number;
  op: StructureOp;
}

const port = parentPort;
if (!port) throw new Error('validation-thread runs as a worker thread');
const registry = ConformanceRegistry.load();

port.on('message', (requests: StructureRequest[]) => {
  const replies = requests.map(({ seq, op: { resource, profileUrl } }) => {
    try {
      return { seq, value: structureIssues(JSON.parse(resource) as Resource, profileUrl ? registry.getProfile(profileUrl) : undefined) };
    } catch (err) {
      return { seq, error: err instanceof Error ? err.message : String(err) };
    }
  });
  port.postMessage(replies);
});
port.postMessage(READY);
