// Where a worker thread's script is. A worker thread runs JavaScript files:
// where the sources run as TypeScript without being compiled to files (the
// test runner), that is the build's copy, which `npm test` makes first.
import fs from 'node:fs';
import path from 'node:path';

/** The compiled file of a module beside the caller (`dirname` is the caller's __dirname). */
export function workerScript(dirname: string, name: string): string {
  const compiled = path.join(dirname, `${name}.js`);
  if (fs.existsSync(compiled)) return compiled;
  const fromRoot = path.relative(path.resolve(__dirname, '../..'), dirname);
  return path.resolve(__dirname, '../../dist', fromRoot, `${name}.js`);
}
