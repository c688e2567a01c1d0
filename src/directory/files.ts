// Reads ORUK JSON from files: each path a .json file, or a directory whose
// .json files (in name order: page-001.json, page-002.json, ...) are read.
import fs from 'node:fs';
import path from 'node:path';
import { emptyContent, NotADirectoryError, readDocument, type DirectoryContent } from './read';

export class InputError extends Error {}

function jsonFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new InputError(`${target}: no such file or directory`);
  }
  if (!stat.isDirectory()) return [target];
  const files = fs
    .readdirSync(target)
    .filter((f) => f.toLowerCase().endsWith('.json'))
    .sort()
    .map((f) => path.join(target, f));
  if (files.length === 0) throw new InputError(`${target}: the directory holds no .json files`);
  return files;
}

export function readDirectoryFiles(paths: string[]): DirectoryContent {
  const content = emptyContent();
  for (const file of paths.flatMap(jsonFiles)) {
    let document: unknown;
    try {
      document = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      // A file that is not JSON is reported like a malformed service: the other files still count.
      content.rejected.push({ source: file, reason: `Not JSON: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    try {
      readDocument(content, document, file);
    } catch (err) {
      if (err instanceof NotADirectoryError) throw new InputError(err.message);
      throw err;
    }
  }
  return content;
}
