// Typed configuration from the environment, validated once at start.
// A bad value stops the server with a message naming the variable (fail fast).
import Ajv from 'ajv';
import path from 'node:path';
import { DEFAULT_ENFORCED_TYPES } from './domain/server-profiles';

export interface Config {
  port: number;
  host: string;
  /** Public FHIR base URL, used in Location headers and Bundle links. */
  baseUrl: string;
  dataDir: string;
  mongodbUri?: string;
  bodyLimit: string;
  logLevel: string;
  /** Largest page a search may ask for with _count. */
  maxPageSize: number;
  /** Resource types held to the server's own profile even without meta.profile. */
  enforceProfiles: string[];
  /** Bulk export: how long output files are kept after the job completes. */
  exportRetentionSeconds: number;
  /** Bulk export: how long a process holds a job without renewing before another may take it over. */
  exportLeaseSeconds: number;
  /** Bulk export: resources per page read and per output chunk written. */
  exportPageSize: number;
  /** Secret for commissioner pseudonyms (keyed hash); see bulk/pseudonym.ts for the fallback. */
  pseudonymKey?: string;
}

const schema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    HOST: { type: 'string', minLength: 1 },
    BASE_URL: { type: 'string', pattern: '^https?://[^\\s]+[^/\\s]$' },
    DATA_DIR: { type: 'string', minLength: 1 },
    MONGODB_URI: { type: 'string', pattern: '^mongodb(\\+srv)?://' },
    BODY_LIMIT: { type: 'string', pattern: '^[0-9]+(b|kb|mb)$' },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    MAX_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000 },
    EXPORT_RETENTION_SECONDS: { type: 'integer', minimum: 1, maximum: 30 * 86400 },
    EXPORT_LEASE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    EXPORT_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000 },
    PSEUDONYM_KEY: { type: 'string', minLength: 32 },
    ENFORCE_PROFILES: { type: 'string', pattern: `^(none|((${DEFAULT_ENFORCED_TYPES.join('|')})(,(${DEFAULT_ENFORCED_TYPES.join('|')}))*))$` },
  },
} as const;

const validateEnv = new Ajv({ coerceTypes: true, allErrors: true }).compile(schema);

export class ConfigError extends Error {}

const SECRETS = new Set(['PSEUDONYM_KEY']);

function parseEnforced(value: string | undefined): string[] {
  if (value === undefined) return DEFAULT_ENFORCED_TYPES;
  return value === 'none' ? [] : value.split(',');
}

/** Reads the configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(schema.properties);
  // Empty variables count as unset, as shells often export VAR= to clear one.
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    if (env[key] !== undefined && env[key] !== '') raw[key] = env[key];
  }
  if (!validateEnv(raw)) {
    const problems = (validateEnv.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '');
      // A secret is named, never echoed.
      const shown = SECRETS.has(name) ? '(hidden)' : JSON.stringify(env[name]);
      return `${name}=${shown} ${e.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const port = (raw.PORT as number | undefined) ?? 8080;
  const host = (raw.HOST as string | undefined) ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    host,
    baseUrl: (raw.BASE_URL as string | undefined) ?? `http://${urlHost}:${port}/fhir`,
    dataDir: path.resolve((raw.DATA_DIR as string | undefined) ?? './data'),
    mongodbUri: raw.MONGODB_URI as string | undefined,
    bodyLimit: (raw.BODY_LIMIT as string | undefined) ?? '5mb',
    logLevel: (raw.LOG_LEVEL as string | undefined) ?? 'info',
    maxPageSize: (raw.MAX_PAGE_SIZE as number | undefined) ?? 1000,
    enforceProfiles: parseEnforced(raw.ENFORCE_PROFILES as string | undefined),
    exportRetentionSeconds: (raw.EXPORT_RETENTION_SECONDS as number | undefined) ?? 3600,
    exportLeaseSeconds: (raw.EXPORT_LEASE_SECONDS as number | undefined) ?? 30,
    exportPageSize: (raw.EXPORT_PAGE_SIZE as number | undefined) ?? 1000,
    pseudonymKey: raw.PSEUDONYM_KEY as string | undefined,
  };
}
