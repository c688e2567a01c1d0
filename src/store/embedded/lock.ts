// One server process per data directory: the store's group commit, its
// cache of index field numbers and its retention sweep each assume they are
// the database's only writer. The lock file holds the owner's pid; a lock left by
// a process that no longer runs (after kill -9) is taken over.
import fs from 'node:fs';
import path from 'node:path';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock on dir or throws naming the process that holds it; returns the release function. */
export function lockDataDirectory(dir: string): () => void {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new Error(`Data directory ${dir} is in use by process ${owner}; one server per DATA_DIR`, { cause: err });
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not lock data directory ${dir}`);
}
