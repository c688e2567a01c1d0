// Typed configuration from the environment, validated once at start.
// A bad value stops the server with a message naming the variable (fail fast).
import Ajv from 'ajv';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ENFORCED_TYPES } from './domain/server-profiles';
import type { AuthConfig } from './auth/auth-config';
import { DEFAULT_REINDEX_SETTINGS, type ReindexSettings } from './store/reindex';
import { DEFAULT_SEARCH_LIMITS, type SearchLimits } from './store/search/limits';
import { DEFAULT_SETTLE_MS } from './store/settle';
import type { SubscriptionOptions } from './subscriptions/service';
import type { DirectoryImportSettings } from './directory/import-job';
import { DEFAULT_IMPORT_BATCH } from './directory/import';

export interface Config {
  port: number;
  host: string;
  /** Public FHIR base URL, used in Location headers and Bundle links. */
  baseUrl: string;
  dataDir: string;
  /** Memory for the answers of recent searches in the embedded store, in MiB; 0 keeps none. */
  searchCacheMiB: number;
  mongodbUri?: string;
  bodyLimit: string;
  logLevel: string;
  /** Largest page a search may ask for with _count. */
  maxPageSize: number;
  /** Resource types held to the server's own profile even without meta.profile. */
  enforceProfiles: string[];
  auth: AuthConfig;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins: string[];
  /** Requests a client may make per minute (0: no limit). */
  rateLimitPerMinute: number;
  /** Most entries a batch or transaction Bundle may carry. */
  maxBundleEntries: number;
  /** Bounds of chained, _include/_revinclude and near searches. */
  searchLimits: SearchLimits;
  /** Custom SearchParameters: how often each process reads them from the store, and their reindex jobs. */
  reindex: ReindexSettings;
  /** Share of a whole directory's services that must be accepted before missing ones are deactivated. */
  directoryMinAcceptedShare: number;
  /** $import-directory jobs (Prefer: respond-async): their lease, how long a finished one is kept, services per saved place. */
  directoryImport: DirectoryImportSettings;
  /** Bulk export: how long output files are kept after the job completes. */
  exportRetentionSeconds: number;
  /** Bulk export: how long a process holds a job without renewing before another may take it over. */
  exportLeaseSeconds: number;
  /** Bulk export: resources per page read and per output chunk written. */
  exportPageSize: number;
  /** Days an AuditEvent is kept before the background sweep removes it; undefined keeps them all. */
  auditRetentionDays?: number;
  /** Secret for commissioner pseudonyms (keyed hash); see bulk/pseudonym.ts for the fallback. */
  pseudonymKey?: string;
  /**
   * Several processes on one MongoDB: how long after its lastUpdated a write
   * is certain to be visible (store/settle.ts). Polling answers only writes
   * at least this old; a write must commit within half of it.
   */
  writeSettleMs: number;
  /** Subscriptions: the service's options, less the base URL it is given beside them. */
  subscriptions: Omit<SubscriptionOptions, 'baseUrl'>;
  /** Worker threads that run structure validation; 0 runs it on the thread serving requests. */
  validationThreads: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const schema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    HOST: { type: 'string', minLength: 1 },
    BASE_URL: { type: 'string', pattern: '^https?://[^\\s]+[^/\\s]$' },
    DATA_DIR: { type: 'string', minLength: 1 },
    SEARCH_CACHE_MIB: { type: 'integer', minimum: 0, maximum: 4096 },
    MONGODB_URI: { type: 'string', pattern: '^mongodb(\\+srv)?://' },
    WRITE_SETTLE_MS: { type: 'integer', minimum: 100, maximum: 600000 },
    BODY_LIMIT: { type: 'string', pattern: '^[0-9]+(b|kb|mb)$' },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    MAX_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000 },
    EXPORT_RETENTION_SECONDS: { type: 'integer', minimum: 1, maximum: 30 * 86400 },
    EXPORT_LEASE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    EXPORT_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000 },
    AUDIT_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 36500 },
    PSEUDONYM_KEY: { type: 'string', minLength: 32 },
    ENFORCE_PROFILES: { type: 'string', pattern: `^(none|((${DEFAULT_ENFORCED_TYPES.join('|')})(,(${DEFAULT_ENFORCED_TYPES.join('|')}))*))$` },
    AUTH: { enum: ['on', 'off'] },
    AUTH_AUDIENCE: { type: 'string', minLength: 1 },
    AUTH_ISSUER: { type: 'string', minLength: 1 },
    AUTH_JWKS_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    AUTH_LOCAL_KEY: { enum: ['on', 'off'] },
    AUTH_CLOCK_SKEW: { type: 'integer', minimum: 0, maximum: 600 },
    AUTH_TOKEN_ENDPOINT: { type: 'string', pattern: '^https?://[^\\s]+$' },
    CORS_ORIGINS: { type: 'string', pattern: '^(https?://[^\\s,]+)(,https?://[^\\s,]+)*$' },
    RATE_LIMIT: { type: 'integer', minimum: 0 },
    VALIDATION_THREADS: { type: 'integer', minimum: 0, maximum: 64 },
    MAX_BUNDLE_ENTRIES: { type: 'integer', minimum: 1, maximum: 100000 },
    SEARCH_CHAIN_LIMIT: { type: 'integer', minimum: 1, maximum: 100000 },
    SEARCH_INCLUDE_LIMIT: { type: 'integer', minimum: 1, maximum: 100000 },
    SEARCH_INCLUDE_ITERATIONS: { type: 'integer', minimum: 0, maximum: 20 },
    SEARCH_NEAR_LIMIT: { type: 'integer', minimum: 1, maximum: 1000000 },
    SEARCH_NEAR_DEFAULT_KM: { type: 'number', exclusiveMinimum: 0, maximum: 20040 },
    SUBSCRIPTION_ALLOWED_ENDPOINTS: { type: 'string', pattern: '^(https?://[^\\s,]+)(,https?://[^\\s,]+)*$' },
    SUBSCRIPTION_POLL_MS: { type: 'integer', minimum: 10, maximum: 60000 },
    SUBSCRIPTION_SETTLE_MS: { type: 'integer', minimum: 0, maximum: 60000 },
    SUBSCRIPTION_RETRY_MS: { type: 'integer', minimum: 10, maximum: 3600000 },
    SUBSCRIPTION_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100 },
    SUBSCRIPTION_LEASE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    DIRECTORY_MIN_ACCEPTED_PERCENT: { type: 'integer', minimum: 0, maximum: 100 },
    DIRECTORY_IMPORT_LEASE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    DIRECTORY_IMPORT_RETENTION_SECONDS: { type: 'integer', minimum: 1, maximum: 30 * 86400 },
    DIRECTORY_IMPORT_BATCH: { type: 'integer', minimum: 1, maximum: 10000 },
    SEARCH_PARAMETER_REFRESH_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    REINDEX_LEASE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600 },
    REINDEX_BATCH: { type: 'integer', minimum: 1, maximum: 10000 },
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
  const baseUrl = (raw.BASE_URL as string | undefined) ?? `http://${urlHost}:${port}/fhir`;
  // Without authentication, patient data is open to anyone who can connect: only on loopback.
  if (raw.AUTH === 'off' && !LOOPBACK.has(host)) {
    throw new ConfigError(`Invalid configuration: AUTH=off is refused when HOST=${JSON.stringify(host)} is not a loopback address`);
  }
  if ((raw.AUTH_ISSUER === undefined) !== (raw.AUTH_JWKS_URL === undefined)) {
    throw new ConfigError('Invalid configuration: AUTH_ISSUER and AUTH_JWKS_URL are set together (the issuer whose keys the JWKS URL serves)');
  }
  return {
    port,
    host,
    baseUrl,
    dataDir: path.resolve((raw.DATA_DIR as string | undefined) ?? './data'),
    searchCacheMiB: (raw.SEARCH_CACHE_MIB as number | undefined) ?? 16,
    mongodbUri: raw.MONGODB_URI as string | undefined,
    writeSettleMs: (raw.WRITE_SETTLE_MS as number | undefined) ?? DEFAULT_SETTLE_MS,
    bodyLimit: (raw.BODY_LIMIT as string | undefined) ?? '5mb',
    logLevel: (raw.LOG_LEVEL as string | undefined) ?? 'info',
    maxPageSize: (raw.MAX_PAGE_SIZE as number | undefined) ?? 1000,
    enforceProfiles: parseEnforced(raw.ENFORCE_PROFILES as string | undefined),
    auth: {
      enabled: raw.AUTH !== 'off',
      audience: (raw.AUTH_AUDIENCE as string | undefined) ?? baseUrl,
      jwks: raw.AUTH_ISSUER ? { issuer: raw.AUTH_ISSUER as string, url: raw.AUTH_JWKS_URL as string } : undefined,
      localKey: raw.AUTH_LOCAL_KEY !== 'off',
      clockSkewSeconds: (raw.AUTH_CLOCK_SKEW as number | undefined) ?? 30,
      tokenEndpoint: raw.AUTH_TOKEN_ENDPOINT as string | undefined,
    },
    corsOrigins: raw.CORS_ORIGINS ? (raw.CORS_ORIGINS as string).split(',') : [],
    rateLimitPerMinute: (raw.RATE_LIMIT as number | undefined) ?? 6000,
    maxBundleEntries: (raw.MAX_BUNDLE_ENTRIES as number | undefined) ?? 500,
    searchLimits: {
      chain: (raw.SEARCH_CHAIN_LIMIT as number | undefined) ?? DEFAULT_SEARCH_LIMITS.chain,
      include: (raw.SEARCH_INCLUDE_LIMIT as number | undefined) ?? DEFAULT_SEARCH_LIMITS.include,
      includeIterations: (raw.SEARCH_INCLUDE_ITERATIONS as number | undefined) ?? DEFAULT_SEARCH_LIMITS.includeIterations,
      near: (raw.SEARCH_NEAR_LIMIT as number | undefined) ?? DEFAULT_SEARCH_LIMITS.near,
      nearDefaultKm: (raw.SEARCH_NEAR_DEFAULT_KM as number | undefined) ?? DEFAULT_SEARCH_LIMITS.nearDefaultKm,
    },
    reindex: {
      refreshSeconds: (raw.SEARCH_PARAMETER_REFRESH_SECONDS as number | undefined) ?? DEFAULT_REINDEX_SETTINGS.refreshSeconds,
      leaseSeconds: (raw.REINDEX_LEASE_SECONDS as number | undefined) ?? DEFAULT_REINDEX_SETTINGS.leaseSeconds,
      batchSize: (raw.REINDEX_BATCH as number | undefined) ?? DEFAULT_REINDEX_SETTINGS.batchSize,
    },
    directoryMinAcceptedShare: ((raw.DIRECTORY_MIN_ACCEPTED_PERCENT as number | undefined) ?? 90) / 100,
    directoryImport: {
      leaseSeconds: (raw.DIRECTORY_IMPORT_LEASE_SECONDS as number | undefined) ?? 30,
      retentionSeconds: (raw.DIRECTORY_IMPORT_RETENTION_SECONDS as number | undefined) ?? 86400,
      batchSize: (raw.DIRECTORY_IMPORT_BATCH as number | undefined) ?? DEFAULT_IMPORT_BATCH,
    },
    exportRetentionSeconds: (raw.EXPORT_RETENTION_SECONDS as number | undefined) ?? 3600,
    exportLeaseSeconds: (raw.EXPORT_LEASE_SECONDS as number | undefined) ?? 30,
    exportPageSize: (raw.EXPORT_PAGE_SIZE as number | undefined) ?? 1000,
    auditRetentionDays: raw.AUDIT_RETENTION_DAYS as number | undefined,
    pseudonymKey: raw.PSEUDONYM_KEY as string | undefined,
    subscriptions: {
      allowedEndpoints: raw.SUBSCRIPTION_ALLOWED_ENDPOINTS ? (raw.SUBSCRIPTION_ALLOWED_ENDPOINTS as string).split(',') : [],
      pollMs: (raw.SUBSCRIPTION_POLL_MS as number | undefined) ?? 200,
      settleMs: (raw.SUBSCRIPTION_SETTLE_MS as number | undefined) ?? 2000,
      retryMs: (raw.SUBSCRIPTION_RETRY_MS as number | undefined) ?? 1000,
      maxAttempts: (raw.SUBSCRIPTION_MAX_ATTEMPTS as number | undefined) ?? 10,
      leaseSeconds: (raw.SUBSCRIPTION_LEASE_SECONDS as number | undefined) ?? 30,
    },
    // One core is the serving thread's; validation takes the others.
    validationThreads: (raw.VALIDATION_THREADS as number | undefined) ?? Math.max(0, os.availableParallelism() - 1),
  };
}
