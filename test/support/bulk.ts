// A bulk data client for tests: kick-off, polling and download through HTTP,
// as a commissioner's system would do them (export.html).
import type { Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { tokenFor, type TokenClaims } from './server';

export const PREFER_ASYNC = 'respond-async';

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

export interface BulkClient {
  /** Kick-off: returns the status URL path (below the server root). */
  kickOff(path: string, clientId?: string): Promise<string>;
  /** Polls until the manifest; checks every 202 carries X-Progress and Retry-After. */
  manifest(statusPath: string, clientId?: string, timeoutMs?: number): Promise<Manifest>;
  /** Every line of every file of the manifest, by type. */
  download(manifest: Manifest, clientId?: string): Promise<Map<string, { lines: string[]; resources: Resource[] }>>;
}

/** The path of a URL the server gave (its base is the test BASE_URL, not where it listens). */
export const pathOf = (url: string): string => new URL(url).pathname;

/** claims: what the client's tokens carry besides their subject (a role and its organisation, say). */
export function bulkClient(url: string, claims: Omit<TokenClaims, 'sub'> = {}): BulkClient {
  const api = () => request(url);
  // A client is its token's subject (and, where authentication is off, its X-Client-Id).
  const tokens = new Map<string, Promise<string>>();
  const tokenOf = (clientId = 'test-client') =>
    tokens.get(clientId) ?? (tokens.set(clientId, tokenFor({ sub: clientId, ...claims })).get(clientId) as Promise<string>);
  const withClient = async <T extends request.Test>(req: T, clientId?: string): Promise<T> => {
    req.set('Authorization', `Bearer ${await tokenOf(clientId)}`);
    return (clientId ? req.set('X-Client-Id', clientId) : req) as T;
  };
  return {
    async kickOff(path, clientId) {
      const res = await withClient(api().get(path).set('Prefer', PREFER_ASYNC).set('Accept', 'application/fhir+json'), clientId);
      if (res.status !== 202) throw new Error(`kick-off ${path} answered ${res.status}: ${res.text}`);
      return pathOf(res.headers['content-location']);
    },
    async manifest(statusPath, clientId, timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const res = await withClient(api().get(statusPath), clientId);
        if (res.status === 200) return JSON.parse(res.text) as Manifest;
        if (res.status !== 202) throw new Error(`status answered ${res.status}: ${res.text}`);
        if (!res.headers['x-progress'] || !res.headers['retry-after']) throw new Error('a 202 status lacks X-Progress or Retry-After');
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`export at ${statusPath} did not complete within ${timeoutMs} ms`);
    },
    async download(manifest, clientId) {
      const files = new Map<string, { lines: string[]; resources: Resource[] }>();
      for (const output of manifest.output) {
        const res = await withClient(
          api()
            .get(pathOf(output.url))
            .buffer(true)
            .parse((r, cb) => {
              let text = '';
              r.setEncoding('utf8');
              r.on('data', (c: string) => (text += c));
              r.on('end', () => cb(null, text));
            }),
          clientId
        );
        if (res.status !== 200) throw new Error(`${output.url} answered ${res.status}`);
        if (!/application\/fhir\+ndjson/.test(res.headers['content-type'])) throw new Error(`${output.url} is ${res.headers['content-type']}`);
        const lines = (res.body as string).split('\n').filter((l) => l.length > 0);
        const entry = files.get(output.type) ?? { lines: [], resources: [] };
        entry.lines.push(...lines);
        entry.resources.push(...lines.map((l) => JSON.parse(l) as Resource));
        files.set(output.type, entry);
      }
      return files;
    },
  };
}
