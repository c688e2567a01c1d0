// The server under test, run as the built server in a child process (as in
// production: its own process, so autocannon and the bench do not share its
// event loop), and the few FHIR calls the bench makes to set up and sample.
/* eslint-disable @typescript-eslint/no-explicit-any -- the bench reads FHIR JSON of every shape */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { LOCAL_ALGORITHM, LOCAL_ISSUER, readLocalKey } from '../../src/auth/local-key';
import { freePort } from '../support/process';

const SERVER_JS = path.join(__dirname, '../../src/server.js');

export interface ServerHandle {
  url: string;
  child: ChildProcess;
  pid: number;
  dataDir: string;
  /** Milliseconds from spawning the process to the first /readyz 200. */
  readyMs: number;
  /** Stops the server (SIGTERM, graceful); removes the data directory unless it was given. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port and data (the same directory, or the same MongoDB database). */
  restart(): Promise<ServerHandle>;
}

export interface StartOptions {
  mongoUri?: string;
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** An existing data directory to serve (kept on stop); otherwise a fresh temporary one. */
  dataDir?: string;
  /** The MongoDB database to serve, as it is (a restart's); otherwise a fresh one on mongoUri's server. */
  mongoDatabaseUri?: string;
  /** Removes dataDir on stop (a restart of a server whose temporary directory it was). */
  ownsDataDir?: boolean;
  /** The port to listen on (a restart's, so that tokens for its base URL still hold); otherwise a free one. */
  port?: number;
}

export async function startServer(options: StartOptions = {}): Promise<ServerHandle> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-'));
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT: '0',
    MAX_BUNDLE_ENTRIES: '1000',
    BODY_LIMIT: '20mb',
    ...options.env,
  };
  if (options.mongoDatabaseUri) env.MONGODB_URI = options.mongoDatabaseUri;
  else if (options.mongoUri) {
    const url = new URL(options.mongoUri);
    url.pathname = `/sp_bench_${Date.now()}`;
    env.MONGODB_URI = url.toString();
  }
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), SERVER_JS], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let ended = false;
  void exited.then(() => (ended = true));
  const url = `http://127.0.0.1:${port}`;
  // Polled every 20 ms: the restart time at scale is read from this loop.
  for (;;) {
    if (ended) throw new Error(`the server exited before it was ready (exit code ${child.exitCode})`);
    if (performance.now() - started > 600_000) throw new Error('the server was not ready within 10 minutes');
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const readyMs = Math.round(performance.now() - started);
  const ownsDataDir = options.ownsDataDir ?? !options.dataDir;
  const stopChild = async (): Promise<void> => {
    if (!ended) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  return {
    url,
    child,
    pid: child.pid as number,
    dataDir,
    readyMs,
    async stop() {
      await stopChild();
      if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild();
      return startServer({ ...options, dataDir, ownsDataDir, port, mongoDatabaseUri: env.MONGODB_URI });
    },
  };
}

/** A system token signed with the server's local key (what npm run token prints). */
export async function tokenFor(dataDir: string, audience: string): Promise<string> {
  const key = await readLocalKey(dataDir);
  return new SignJWT({ scope: 'system/*.cruds' })
    .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid: key.kid })
    .setIssuer(LOCAL_ISSUER)
    .setSubject('bench')
    .setAudience(audience)
    .setExpirationTime('12h')
    .sign(key.privateKey);
}

/** One FHIR request; `base` is the FHIR base URL (…/fhir). */
export async function fhir(
  base: string,
  token: string | undefined,
  method: string,
  pathAndQuery: string,
  body?: unknown
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${pathAndQuery}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      accept: 'application/fhir+json',
      'content-type': 'application/fhir+json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Resources of a search, up to a limit, following the server's next links. */
export async function sampleIds(base: string, token: string | undefined, query: string, limit: number): Promise<any[]> {
  const out: any[] = [];
  let next: string | undefined = `${base}/${query}&_count=${Math.min(limit, 1000)}`;
  while (next && out.length < limit) {
    const page = await fhir(next, token, 'GET', '');
    if (page.status !== 200) throw new Error(`${next} answered ${page.status}`);
    out.push(...(page.body.entry ?? []).map((e: { resource: unknown }) => e.resource));
    next = (page.body.link ?? []).find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
  }
  return out.slice(0, limit);
}
