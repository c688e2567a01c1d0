// Shared by the reliability suites: servers as child processes on either
// store, a fetch with a deadline, and a small FHIR client that records what
// the server acknowledged.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MongoStore } from '../../src/store/mongo/store';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from '../support/process';
import { tempDir, uniqueDatabaseUri } from '../support/stores';

export const FHIR_JSON = 'application/fhir+json';
export const MARKER_SYSTEM = 'urn:sp-reliability:marker';

/** Where a reliability server keeps its data: an embedded data directory or a MongoDB database of its own. */
export interface Deployment {
  name: 'embedded' | 'mongodb';
  env: Record<string, string>;
  dataDir: string;
  cleanup(): Promise<void>;
}

export function embeddedDeployment(): Deployment {
  const dataDir = tempDir('sp-reliability-');
  return { name: 'embedded', env: { DATA_DIR: dataDir }, dataDir, cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
}

export function mongoDeployment(baseUri = process.env.MONGODB_URI as string): Deployment {
  const dataDir = tempDir('sp-reliability-');
  const uri = uniqueDatabaseUri(baseUri);
  return {
    name: 'mongodb',
    env: { DATA_DIR: dataDir, MONGODB_URI: uri },
    dataDir,
    cleanup: async () => {
      const store = new MongoStore(uri, { serverSelectionTimeoutMS: 3000 });
      await store.dropDatabase().catch(() => undefined);
      await store.close().catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The deployments a reliability suite runs on: embedded always, MongoDB when MONGODB_URI is set. */
export function deployments(): Array<[Deployment['name'], () => Deployment]> {
  const list: Array<[Deployment['name'], () => Deployment]> = [['embedded', embeddedDeployment]];
  if (process.env.MONGODB_URI) list.push(['mongodb', () => mongoDeployment()]);
  return list;
}

export async function startProcess(deployment: Deployment, env: Record<string, string> = {}, port?: number): Promise<ServerProcess> {
  const server = spawnServer({ ...deployment.env, PORT: String(port ?? (await freePort())), ...env });
  try {
    await waitUntilReady(server.url, 60000);
  } catch (err) {
    server.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${server.stderr()}`, { cause: err });
  }
  return server;
}

export async function kill(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  ms: number;
}

/** fetch with a deadline; rejects when the server is gone or does not answer in time. */
export async function call(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Reply> {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 15000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started };
}

export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { 'content-type': FHIR_JSON, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** A Patient carrying a marker (name and identifier) that a check can find it by. */
export function markedPatient(marker: string, id?: string): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    ...(id ? { id } : {}),
    identifier: [{ system: MARKER_SYSTEM, value: marker }],
    name: [{ family: marker, given: ['Reliability'] }],
    gender: 'unknown',
  };
}

export function markedOrganization(marker: string): Record<string, unknown> {
  return { resourceType: 'Organization', identifier: [{ system: MARKER_SYSTEM, value: marker }], name: marker };
}

/** Total of type resources carrying the marker, by search. */
export async function countMarked(url: string, type: string, marker: string): Promise<number> {
  const res = await call(`${url}/fhir/${type}?identifier=${encodeURIComponent(`${MARKER_SYSTEM}|${marker}`)}&_summary=count`);
  if (res.status !== 200) throw new Error(`count ${type} ${marker}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.total as number;
}

/** Runs one of the package's ferretdb.sh commands; resolves with its stdout. */
export function ferretdb(...args: string[]): Promise<string> {
  const script = path.join(__dirname, '../../.ci/ferretdb.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`ferretdb.sh ${args.join(' ')} failed (${code}): ${err}`))));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Prints a line of the suite's figures (jest shows console output), so a run reports its counts. */
export function report(line: string): void {
  process.stdout.write(`[reliability] ${line}\n`);
}
