// The server's layers, as rules (README "How the code is laid out"):
//
//   app.ts, server.ts, cli/      compose everything
//   http/                        Express: requests in, responses out
//   fhir/                        the FHIR REST API, operations, access rules
//   domain/ conformance/ bulk/ directory/ reports/ audit/ auth/ subscriptions/
//                                the social prescribing rules, validation and
//                                terminology, exports, the directory import,
//                                reports, the audit trail, tokens
//   store/                       storage: the port, its adapters, search
//   base/                        outcomes, ids, references, the parsed search
//                                request, R4 definitions: imports nothing of ours
//
// Each layer imports only layers below it, so no folder can import another
// that imports it back. Where a lower layer must call a higher one (the
// repository writing an audit record, validation, domain rules), app.ts
// passes a hook down.
const MIDDLE = '^src/(domain|conformance|bulk|directory|reports|audit|auth|subscriptions)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No module imports itself through others.', from: {}, to: { circular: true } },
    {
      name: 'base-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/base/' },
      to: { path: '^src/', pathNot: '^src/base/' },
    },
    {
      name: 'store-only-base',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|base)/' },
    },
    {
      name: 'middle-layer-below-fhir',
      severity: 'error',
      comment: 'domain, conformance, bulk, directory, reports, audit and auth do not reach up to fhir, http or the composition root.',
      from: { path: MIDDLE },
      to: { path: '^src/(fhir|http|cli)/|^src/[^/]+\\.ts$' },
    },
    {
      name: 'middle-layer-order',
      severity: 'error',
      comment: 'Within the middle layer the order is: domain and auth; conformance; reports, directory and audit; bulk.',
      from: { path: '^src/(domain|auth)/' },
      to: { path: MIDDLE, pathNot: '^src/$1/' },
    },
    {
      name: 'conformance-only-domain',
      severity: 'error',
      from: { path: '^src/conformance/' },
      to: { path: MIDDLE, pathNot: '^src/(conformance|domain)/' },
    },
    {
      name: 'reports-only-conformance',
      severity: 'error',
      from: { path: '^src/reports/' },
      to: { path: MIDDLE, pathNot: '^src/(reports|conformance|domain)/' },
    },
    {
      name: 'directory-only-conformance',
      severity: 'error',
      from: { path: '^src/directory/' },
      to: { path: MIDDLE, pathNot: '^src/(directory|conformance|domain)/' },
    },
    {
      name: 'audit-only-conformance-and-auth',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: MIDDLE, pathNot: '^src/(audit|conformance|domain|auth)/' },
    },
    {
      name: 'subscriptions-only-audit-and-auth',
      severity: 'error',
      comment: 'Subscription delivery audits and reads as its owner; it sits beside bulk, at the top of the middle layer.',
      from: { path: '^src/subscriptions/' },
      to: { path: MIDDLE, pathNot: '^src/(subscriptions|audit|auth|conformance|domain)/' },
    },
    {
      name: 'bulk-only-conformance-and-reports',
      severity: 'error',
      from: { path: '^src/bulk/' },
      to: { path: MIDDLE, pathNot: '^src/(bulk|conformance|domain|reports)/' },
    },
    {
      name: 'fhir-below-http',
      severity: 'error',
      from: { path: '^src/fhir/' },
      to: { path: '^src/(http|cli)/|^src/[^/]+\\.ts$' },
    },
    {
      name: 'http-below-root',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/cli/|^src/[^/]+\\.ts$', pathNot: '^src/config\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    includeOnly: '^src/',
  },
};
