// Reads the conformance resources the project ships (profiles/generated,
// terminology/) from the project root, wherever the code runs from
// (src/ under ts-jest, dist/src/ when built, /app in the image).
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Every JSON resource in a project folder (sorted by file name, so loading order is stable). */
export function readResourceFolder(relative: string): Resource[] {
  const dir = path.join(projectRoot(), relative);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Resource);
}

/** One JSON file of the project, e.g. profiles/non-r4-elements.json. */
export function readProjectJson<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(projectRoot(), relative), 'utf8')) as T;
}
