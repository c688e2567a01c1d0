// Bulk export output of the embedded store: one file on disk per chunk, under
// DATA_DIR/export/<job>/, outside the in-memory resource maps so that a large
// export never sits in memory. A chunk is written to a temporary name, synced
// and renamed, so a reader (or a resumed job) sees a whole chunk or none.
import fsp from 'node:fs/promises';
import path from 'node:path';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;

function safe(name: string): string {
  // Names come from the export job (a UUID, a resource type); checked again so no path ever escapes the folder.
  if (!SAFE_NAME.test(name)) throw new Error(`Unsafe export file name ${JSON.stringify(name)}`);
  return name;
}

export class ExportFiles {
  constructor(private readonly root: string) {}

  private jobDir(jobId: string): string {
    return path.join(this.root, safe(jobId));
  }

  private chunkPath(jobId: string, file: string, seq: number): string {
    return path.join(this.jobDir(jobId), `${safe(file)}.${Math.trunc(seq)}`);
  }

  async write(jobId: string, file: string, seq: number, text: string): Promise<void> {
    const target = this.chunkPath(jobId, file, seq);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.tmp`;
    const handle = await fsp.open(temporary, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temporary, target);
  }

  async read(jobId: string, file: string, seq: number): Promise<string | undefined> {
    try {
      return await fsp.readFile(this.chunkPath(jobId, file, seq), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async remove(jobId: string): Promise<void> {
    await fsp.rm(this.jobDir(jobId), { recursive: true, force: true });
  }
}
