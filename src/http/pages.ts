// The browser pages the server itself serves (the API explorer and the
// commissioners' dashboard): static files from src/http/pages and from the
// npm packages they are built on, never from a CDN, so they work offline.
// The pages get a Content-Security-Policy of their own, as strict as lets them
// run: scripts, styles and connections to this origin only, no inline code.
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import helmet from 'helmet';

/** Where the pages' own files are: beside this file under ts-jest, in src/ when running from dist/. */
export function pagesDir(): string {
  const candidates = [path.join(__dirname, 'pages'), path.join(__dirname, '..', '..', '..', 'src', 'http', 'pages')];
  const found = candidates.find((dir) => fs.existsSync(dir));
  if (!found) throw new Error(`The page files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

export function pageSecurityPolicy(): RequestHandler {
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  });
}

/** Serves exactly these files (name → absolute path) from a folder URL; nothing else of the package is reachable. */
export function namedFiles(files: Record<string, string>): Router {
  const router = express.Router();
  router.get('/:name', (req, res, next) => {
    const file = Object.hasOwn(files, req.params.name) ? files[req.params.name] : undefined;
    if (!file) return next();
    res.sendFile(file, { maxAge: '1h' });
  });
  return router;
}

/** A page: index.html at the folder URL (a trailing slash, so its relative links resolve), and its own files. */
export function page(dir: string, files: string[]): Router {
  const router = express.Router();
  router.get('/', (req, res) => {
    if (!req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, `${req.baseUrl}/`);
    res.sendFile(path.join(dir, 'index.html'));
  });
  router.use(namedFiles(Object.fromEntries(files.map((f) => [f, path.join(dir, f)]))));
  return router;
}
