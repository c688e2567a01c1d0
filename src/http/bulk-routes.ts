// The asynchronous request pattern of FHIR Bulk Data export
// (export.html, async.html), which a FhirResult cannot express (202 with
// Content-Location, X-Progress and Retry-After, a plain JSON manifest, streamed
// NDJSON), so it is served here, before the FHIR router:
//   GET|POST [base]/$export, [base]/Patient/$export, [base]/Group/[id]/$export  kick-off
//   GET    [base]/_export/[job]                 status: 202 + X-Progress, then 200 + manifest
//   DELETE [base]/_export/[job]                 cancel (202)
//   GET    [base]/_export/[job]/[Type].ndjson   an output file, streamed
// Status and files are served to the client that started the job only (requester.ts).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { once } from 'node:events';
import { parseKickOff, queryOfParameters } from '../bulk/kickoff';
import { fileNameOf, type ExportJob, type ExportLevel } from '../bulk/job';
import { requesterKey, type ExportService } from '../bulk/export-service';
import type { FhirContext } from '../fhir/context';
import { allOk, badRequest, forbidden, notFound, outcome, statusOf } from '../base/outcomes';
import type { QueryParams } from '../base/search-request';
import { queryOf, type Audited } from './fhir-routes';
import { authorizeExport } from '../fhir/export-access';
import { parsePrefer } from './prefer';
import { requesterOf } from './requester';
import { sendFhirJson } from './respond';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RETRY_AFTER_SECONDS = 2;

/** The kick-off path's level, or undefined when the path is not a kick-off. */
function kickOffLevel(segments: string[]): { level: ExportLevel; groupId?: string } | undefined {
  if (segments.length === 1 && segments[0] === '$export') return { level: 'system' };
  if (segments.length === 2 && segments[0] === 'Patient' && segments[1] === '$export') return { level: 'patient' };
  if (segments.length === 3 && segments[0] === 'Group' && segments[2] === '$export') return { level: 'group', groupId: segments[1] };
  return undefined;
}

/** A commissioner's export is always the commissioner view, under their own organisation's pseudonyms. */
function forCaller(access: FhirContext['access'], query: QueryParams): QueryParams {
  const caller = access.caller;
  if (caller.role !== 'commissioner') return query;
  return { ...query, _commissioner: [caller.organization ?? caller.subject.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 64)] };
}

export function bulkRoutes(base: FhirContext, bulkExports: ExportService, bodyLimit: string, audited: Audited): Router {
  const router = express.Router();
  const ctx = base;
  /** The caller's context (fhir-routes.ts sets it after authentication). */
  const ctxOf = (res: Response): FhirContext => (res.locals.ctx as FhirContext | undefined) ?? base;
  const statusUrl = (job: ExportJob) => `${ctx.baseUrl}/_export/${job.id}`;

  /** The job behind a status or file URL, for its own client only. */
  const jobFor = async (req: Request, res: Response, id: string): Promise<ExportJob> => {
    const job = JOB_ID.test(id) ? await bulkExports.read(id) : undefined;
    if (!job) throw notFound(`No export job ${id}: it never existed, was cancelled, or has expired`);
    if (job.state.requester !== requesterKey(requesterOf(req, res))) throw forbidden('This export belongs to another client');
    return job;
  };

  const kickOff = async (req: Request, res: Response, level: { level: ExportLevel; groupId?: string }): Promise<void> => {
    const prefer = parsePrefer(req.get('prefer'));
    if (!/(^|[,;\s])respond-async($|[,;\s])/.test(req.get('prefer') ?? '')) {
      throw badRequest('A bulk export runs asynchronously: send Prefer: respond-async');
    }
    const accept = req.get('accept');
    if (accept && !/application\/(fhir\+)?json|\*\/\*/.test(accept)) throw badRequest(`Accept ${accept} is not supported; use application/fhir+json`);
    const query = req.method === 'POST' ? { ...queryOf(req), ...queryOfParameters(req.body) } : queryOf(req);
    const access = ctxOf(res).access;
    const parameters = await authorizeExport(access, await parseKickOff(ctx.repo, { ...level, query: forCaller(access, query), lenient: prefer.lenient }));
    const job = await bulkExports.kickOff(parameters, `${ctx.baseUrl}${req.url}`, requesterOf(req, res));
    await audited(req, res, 202, undefined, () => {
      res.setHeader('Content-Location', statusUrl(job));
      sendFhirJson(res, 202, allOk(`Export ${job.id} accepted; poll ${statusUrl(job)}`));
    });
  };

  const status = async (req: Request, res: Response, id: string): Promise<void> => {
    const job = await jobFor(req, res, id);
    if (req.method === 'DELETE') {
      await bulkExports.cancel(job);
      await audited(req, res, 202, undefined, () => sendFhirJson(res, 202, allOk(`Export ${job.id} cancelled; its files are removed`)));
      return;
    }
    if (job.status === 'failed') {
      const failure = outcome('server-error', 'error', 'exception', job.error ?? 'The export failed');
      await audited(req, res, statusOf(failure), job.error, () => sendFhirJson(res, statusOf(failure), failure));
      return;
    }
    if (job.status !== 'completed') {
      const { processed: exported, total } = job;
      await audited(req, res, 202, undefined, () => {
        res.setHeader('X-Progress', total === undefined ? 'starting' : `${exported} of ${total} resources exported`);
        res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
        res.status(202).end();
      });
      return;
    }
    if (!(await audited(req, res, 200, undefined, () => undefined))) return;
    if (job.expires) res.setHeader('Expires', new Date(job.expires).toUTCString());
    res.type('application/json').send(
      JSON.stringify({
        transactionTime: job.state.transactionTime,
        request: job.state.request,
        // Files are served with the same bearer token's subject only (requester.ts).
        requiresAccessToken: true,
        output: job.state.files.map((f) => ({ type: f.type, url: `${statusUrl(job)}/${fileNameOf(f.type)}`, count: f.count })),
        error: [],
      })
    );
  };

  const file = async (req: Request, res: Response, id: string, name: string): Promise<void> => {
    const job = await jobFor(req, res, id);
    const output = job.status === 'completed' ? job.state.files.find((f) => fileNameOf(f.type) === name) : undefined;
    if (!output) throw notFound(`Export ${id} has no file ${name}`);
    if (!(await audited(req, res, 200, undefined, () => undefined))) return;
    res.status(200).type('application/fhir+ndjson');
    // Chunk by chunk, waiting for the client to drain each: memory holds one chunk per download.
    for await (const text of bulkExports.chunks(job, output)) {
      if (!res.write(text)) await once(res, 'drain');
    }
    res.end();
  };

  const parseJson = express.json({ type: ['application/fhir+json', 'application/json'], limit: bodyLimit, strict: true });
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const segments = req.path.split('/').filter((s) => s.length > 0);
      const level = kickOffLevel(segments);
      if (level && (req.method === 'GET' || req.method === 'POST')) {
        // Only a kick-off's body (a Parameters resource) is read here; every other body is the FHIR router's.
        await new Promise<void>((resolve, reject) => parseJson(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
        return await kickOff(req, res, level);
      }
      if (segments[0] === '_export' && segments.length === 2 && (req.method === 'GET' || req.method === 'DELETE')) return await status(req, res, segments[1]);
      if (segments[0] === '_export' && segments.length === 3 && req.method === 'GET') return await file(req, res, segments[1], segments[2]);
      next();
    } catch (err) {
      next(err);
    }
  });
  return router;
}
