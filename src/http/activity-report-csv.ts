// Content negotiation for $activity-report: CSV when the client asks for it
// (Accept: text/csv, or _format=csv); otherwise the request goes on to the
// FHIR router, which answers with the MeasureReport.
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { activityReport } from '../fhir/operations/activity-report';
import type { FhirContext } from '../fhir/context';
import type { QueryParams } from '../base/search-request';
import { measureReportToCsv } from '../reports/csv';
import { queryOf, type Audited } from './fhir-routes';
import { authorizeActivityReport } from '../fhir/export-access';

function wantsCsv(req: Request, query: QueryParams): boolean {
  const format = query._format?.[0];
  if (format) return format === 'csv' || format === 'text/csv';
  return /\btext\/csv\b/.test(req.get('accept') ?? '');
}

export function activityReportCsv(base: FhirContext, audited: Audited): Router {
  const router = express.Router();
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (req.method !== 'GET' || req.path !== '/$activity-report') return next();
      const query = queryOf(req);
      if (!wantsCsv(req, query)) return next();
      const { _format, ...rest } = query;
      void _format;
      const ctx = (res.locals.ctx as FhirContext | undefined) ?? base;
      authorizeActivityReport(ctx.access);
      const csv = measureReportToCsv(await activityReport(rest, ctx));
      await audited(req, res, 200, undefined, () => {
        res.status(200).type('text/csv; charset=utf-8').setHeader('Content-Disposition', 'attachment; filename="activity-report.csv"');
        res.send(csv);
      });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
