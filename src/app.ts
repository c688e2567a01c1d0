// Assembles the server: store, repository, FHIR router and the Express app.
// Tests build the same app with createApp, so they exercise what runs.
import express, { type Express } from 'express';
import pino, { type Logger } from 'pino';
import type { Config } from './config';
import { loadBaseDefinitions } from './base/definitions';
import { ValidationThreads } from './conformance/validation-threads';
import { structureHere, ValidationPipeline } from './conformance/pipeline';
import { ConformanceRegistry } from './conformance/registry';
import { storeShippedResources } from './conformance/seed';
import { TerminologyService, tokenTerminology } from './conformance/terminology/service';
import { coreSource, firstOf, storeSource } from './conformance/terminology/sources';
import { registerValidateOperation } from './fhir/operations/validate';
import { registerTerminologyOperations } from './fhir/operations/terminology';
import { registerProcessMessage } from './fhir/operations/process-message';
import { registerReindexOperation } from './fhir/operations/reindex';
import { registerExportOperations } from './fhir/operations/export';
import { ExportService } from './bulk/export-service';
import { Pseudonyms } from './bulk/pseudonym';
import { bulkRoutes } from './http/bulk-routes';
import { registerActivityReport } from './fhir/operations/activity-report';
import { registerEverythingOperation } from './fhir/operations/everything';
import { activityReportCsv } from './http/activity-report-csv';
import { apiDocs } from './http/api-docs';
import { dashboard } from './http/dashboard';
import { registerImportDirectoryOperation } from './fhir/operations/import-directory';
import { publishOperationDefinitions } from './fhir/operations/definitions';
import { DirectoryImports } from './directory/import-job';
import { searchParametersChanged } from './fhir/capabilities';
import { SearchParameterService } from './store/reindex';
import { AccessGrants } from './auth/access-grants';
import { ensureAccessGrants } from './auth/access-backfill';
import type { SearchParameter } from '@medplum/fhirtypes';
import type { FhirContext } from './fhir/context';
import { outcome } from './base/outcomes';
import { dispatch } from './fhir/router';
import { referralWorkflow } from './domain/referral-workflow';
import { errorHandler } from './http/errors';
import { fhirRoutes } from './http/fhir-routes';
import { requestLogger } from './http/logging';
import { sendFhirJson } from './http/respond';
import { getResourceTypeNames } from './base/definitions';
import { createStore } from './store';
import type { StoragePort } from './store/port';
import { Repository } from './store/repository';
import { AuditTrail } from './audit/audit-trail';
import { ANONYMOUS_LOCAL } from './auth/caller';
import { loadOrCreateLocalKey, type LocalKey } from './auth/local-key';
import { TokenVerifier } from './auth/tokens';
import { Access } from './fhir/access';
import { corsAllowList, securityHeaders } from './http/hardening';
import { InFlight } from './http/in-flight';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SubscriptionService } from './subscriptions/service';
import { registerSubscriptionOperations } from './fhir/operations/subscription-status';
import { registerBindingTokenOperation } from './fhir/operations/ws-binding-token';
import { subscriptionSockets } from './http/subscription-websocket';
import { auditWriteFor } from './audit/request-audit';
import { AuditRetention } from './audit/retention';
import { warmUp } from './warm-up';

export interface App {
  express: Express;
  store: StoragePort;
  logger: Logger;
  searchParameters: SearchParameterService;
  /** The FHIR layer without HTTP: what the command-line tools (import, seed) write through. */
  fhir: FhirContext;
  /** For the HTTP server's 'upgrade' event: the subscriptions' websocket channel. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The audit retention sweep, when AUDIT_RETENTION_DAYS is set. */
  auditRetention?: AuditRetention;
  close(): Promise<void>;
}

export const DEFAULT_PAGE_SIZE = 20;

const TERMINOLOGY_TYPES = new Set(['CodeSystem', 'ValueSet', 'ConceptMap']);

/** Verifies bearer tokens, or undefined when authentication is switched off (loopback only: config.ts). */
async function tokenVerifier(config: Config, logger: Logger): Promise<TokenVerifier | undefined> {
  if (!config.auth.enabled) {
    logger.warn(
      { host: config.host },
      'AUTHENTICATION IS OFF (AUTH=off): every request is served without a token and without access control. Use only on this machine, never with real patient data.'
    );
    return undefined;
  }
  let localKey: LocalKey | undefined;
  if (config.auth.localKey) localKey = await loadOrCreateLocalKey(config.dataDir);
  return new TokenVerifier(config.auth, localKey);
}

/** Creates and starts the store, then builds the Express app over it. */
export async function createApp(config: Config, store: StoragePort = createStore(config)): Promise<App> {
  const logger = pino({ level: config.logLevel });
  loadBaseDefinitions();
  registerValidateOperation();
  registerTerminologyOperations();
  registerProcessMessage();
  registerReindexOperation();
  registerExportOperations();
  registerActivityReport();
  registerEverythingOperation();
  registerImportDirectoryOperation();
  registerSubscriptionOperations();
  registerBindingTokenOperation();
  await store.start(getResourceTypeNames());
  const conformance = ConformanceRegistry.load();
  // Set once they exist: the repository's hooks below are called only after that.
  const late: { terminology?: TerminologyService; searchParameters?: SearchParameterService } = {};
  const repo: Repository = new Repository(store, {
    baseUrl: config.baseUrl,
    auditWrite: auditWriteFor,
    validate: (resource, resolveReference) => pipeline.validate(resource, { resolveReference }),
    rules: referralWorkflow,
    settleMs: config.writeSettleMs,
    tokenTerminology: tokenTerminology(() => late.terminology),
    onCommit: async (versions) => {
      if (versions.some((v) => TERMINOLOGY_TYPES.has(v.resourceType))) late.terminology?.invalidate();
      for (const v of versions) {
        if (v.resourceType === 'SearchParameter' && v.resource) await late.searchParameters?.onWrite(v.resource as SearchParameter);
      }
    },
    onIndexError: (err) => logger.error({ err }, 'could not reindex resources that read values from a changed resource'),
    searchLimits: config.searchLimits,
    access: new AccessGrants(store, config.baseUrl),
  });
  const terminology = new TerminologyService(firstOf(storeSource(repo), coreSource()));
  late.terminology = terminology;
  const parameterService = new SearchParameterService(
    repo,
    store,
    config.baseUrl,
    logger,
    searchParametersChanged,
    config.reindex,
    new Set(conformance.searchParameters.map((sp) => sp.url as string))
  );
  const validationThreads = config.validationThreads > 0 ? new ValidationThreads(config.validationThreads, structureHere(conformance)) : undefined;
  const pipeline: ValidationPipeline = new ValidationPipeline(conformance, terminology, {
    baseUrl: config.baseUrl,
    enforcedTypes: new Set(config.enforceProfiles),
    structure: validationThreads?.validate,
  });
  const ctx: FhirContext = {
    repo,
    terminology,
    searchParameters: parameterService,
    baseUrl: config.baseUrl,
    defaultPageSize: Math.min(DEFAULT_PAGE_SIZE, config.maxPageSize),
    maxPageSize: config.maxPageSize,
    maxBundleEntries: config.maxBundleEntries,
    directoryMinAcceptedShare: config.directoryMinAcceptedShare,
    directoryImports: new DirectoryImports(repo, store, config.directoryImport, logger),
    // The server's own requests; each HTTP request gets its caller's access (fhir-routes.ts).
    access: new Access(ANONYMOUS_LOCAL, repo),
    validate: (resource, profiles) => pipeline.validate(resource, { profiles, resolveReference: repo.referenceExists }),
    supportedProfiles: (type) => conformance.profilesFor(type),
    dispatch,
  };
  await storeShippedResources(repo, conformance);
  await publishOperationDefinitions(repo);
  // Data stored before access grants existed gets them before any caller is served.
  await ensureAccessGrants(repo, logger);
  await parameterService.start();
  late.searchParameters = parameterService;
  const bulkExports = new ExportService(
    repo,
    store,
    new Pseudonyms(store, config.pseudonymKey),
    { pageSize: config.exportPageSize, leaseSeconds: config.exportLeaseSeconds, retentionSeconds: config.exportRetentionSeconds },
    logger
  );
  await bulkExports.start();
  await ctx.directoryImports.start();
  const auditTrail = new AuditTrail(store, config.baseUrl);
  const subscriptions = new SubscriptionService(
    repo,
    store,
    { baseUrl: config.baseUrl, ...config.subscriptions },
    // Delivery reads as the subscription's owner: the organisation restriction applies then, not only at creation.
    { visibleTo: (owner, versions) => new Access(owner, repo).visible(versions), audit: (record) => auditTrail.record(record) },
    logger
  );
  ctx.subscriptions = subscriptions;
  subscriptions.start();
  const sockets = subscriptionSockets(subscriptions);
  const auditRetention = config.auditRetentionDays ? new AuditRetention(store, { days: config.auditRetentionDays }, logger) : undefined;
  auditRetention?.start();
  await warmUp(pipeline);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', false);
  app.use(requestLogger(logger));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await store.ping();
      // The validation threads are not needed to be ready (the serving thread validates until they are): reported, not required.
      res.json({ status: 'ready', store: store.kind, validationThreads: validationThreads?.status ?? { threads: 0, ready: 0 } });
    } catch {
      res.status(503).json({ status: 'unavailable', store: store.kind });
    }
  });
  const inFlight = new InFlight();
  app.use(securityHeaders());
  app.use(corsAllowList(config.corsOrigins));
  // Pages and the API description, open like /metadata; the requests the pages make go through /fhir below.
  app.use(apiDocs(ctx));
  app.use(dashboard());
  app.use(
    '/fhir',
    fhirRoutes(ctx, {
      bodyLimit: config.bodyLimit,
      rateLimitPerMinute: config.rateLimitPerMinute,
      tokenEndpoint: config.auth.tokenEndpoint,
      inFlight,
      verifier: await tokenVerifier(config, logger),
      audit: auditTrail,
      logger,
      // Answers a FhirResult cannot carry (async export, NDJSON, CSV), behind the same authentication and audit.
      routes: (audited) => [bulkRoutes(ctx, bulkExports, config.bodyLimit, audited), activityReportCsv(ctx, audited)],
    })
  );
  app.use((req, res) => {
    sendFhirJson(res, 404, outcome('not-found', 'error', 'not-found', `Nothing at ${req.path}; the FHIR base is /fhir`));
  });
  app.use(errorHandler(logger));
  return {
    express: app,
    store,
    logger,
    searchParameters: parameterService,
    fhir: ctx,
    upgrade: (req, socket, head) => sockets.upgrade(req, socket, head),
    auditRetention,
    close: async () => {
      // Work for clients that already left still writes; the store closes after it.
      await sockets.close();
      await subscriptions.close();
      await inFlight.idle();
      await parameterService.close();
      await bulkExports.close();
      await ctx.directoryImports.close();
      await auditRetention?.stop();
      await store.close();
      await validationThreads?.close();
    },
  };
}
