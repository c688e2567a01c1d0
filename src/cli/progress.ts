// A one-line progress display on stderr: a bar, counts and rate. Redrawn in
// place on a terminal; elsewhere (CI logs, pipes) a line every 10 seconds.
import type { ImportCounts } from '../directory/import';

const WIDTH = 24;
const REDRAW_MS = 100;
const LOG_MS = 10_000;

export function progressLine(c: ImportCounts, elapsedMs: number): string {
  const done = c.total > 0 ? Math.min(1, c.processed / c.total) : 1;
  const filled = Math.round(done * WIDTH);
  const rate = elapsedMs > 0 ? Math.round((c.processed / elapsedMs) * 1000) : 0;
  return (
    `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${c.processed}/${c.total} services ` +
    `(created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected}, deactivated ${c.deactivated}) ${rate}/s`
  );
}

export function progressDisplay(stream: NodeJS.WriteStream = process.stderr): { update(c: ImportCounts): void; finish(c: ImportCounts): void } {
  const started = Date.now();
  let last = 0;
  const tty = stream.isTTY === true;
  return {
    update(c) {
      const now = Date.now();
      if (now - last < (tty ? REDRAW_MS : LOG_MS)) return;
      last = now;
      stream.write(tty ? `\r${progressLine(c, now - started)}\x1b[K` : `${progressLine(c, now - started)}\n`);
    },
    finish(c) {
      stream.write(tty ? `\r${progressLine(c, Date.now() - started)}\x1b[K\n` : `${progressLine(c, Date.now() - started)}\n`);
    },
  };
}
