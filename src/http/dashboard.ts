// The commissioners' dashboard at /dashboard/: a static page that calls
// $activity-report with the token the user pastes, so it shows exactly what
// the report gives that token (aggregates only, small numbers suppressed) and
// nothing more. Charts are drawn with Chart.js, served from its npm package.
import path from 'node:path';
import express, { type Router } from 'express';
import { outcome } from '../base/outcomes';
import { sendFhirJson } from './respond';
import { namedFiles, page, pagesDir, pageSecurityPolicy } from './pages';

const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');

export function dashboard(mountPath = '/dashboard'): Router {
  const router = express.Router();
  router.use(mountPath, pageSecurityPolicy());
  router.use(`${mountPath}/assets`, namedFiles({ 'chart.umd.min.js': CHART_JS }));
  router.use(mountPath, page(path.join(pagesDir(), 'dashboard'), ['dashboard.js', 'dashboard.css', 'report.js']));
  router.use(mountPath, (req, res) => sendFhirJson(res, 404, outcome('not-found', 'error', 'not-found', `Nothing at ${req.originalUrl.split('?')[0]}`)));
  return router;
}
