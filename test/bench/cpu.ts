// How many cores a server used during a scenario, measured from outside the
// server so it counts everything the server runs: its threads (libuv pool,
// worker threads, the checkpointer) and any child processes (a cluster's
// workers). Reads /proc/<pid>/stat (Linux): utime + stime of every process in
// the tree, plus cutime + cstime for children already reaped, divided by the
// wall time. Elsewhere (no /proc) it reports nothing rather than a guess.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second, the unit of the times in /proc/<pid>/stat. */
const TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is state (field 3); ppid is field 4; utime, stime, cutime, cstime are fields 14-17.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { pid, ppid: Number(fields[1]), ticks: utime + stime + cutime + cstime };
}

/** CPU seconds used so far by pid and all its descendants; undefined without /proc or once pid is gone. */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = readStat(pid);
  if (!root) return undefined;
  const all = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((s): s is ProcStat => s !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let ticks = 0;
  const queue = [root];
  for (let s = queue.pop(); s; s = queue.pop()) {
    ticks += s.ticks;
    queue.push(...(children.get(s.pid) ?? []));
  }
  return ticks / TICKS;
}

/** Starts measuring; the returned function gives the cores used since (CPU seconds / wall seconds). */
export function measureCores(pid: number | undefined): () => number | undefined {
  if (pid === undefined || !fs.existsSync('/proc/self/stat')) return () => undefined;
  const cpuStart = treeCpuSeconds(pid);
  const wallStart = performance.now();
  return () => {
    const cpuEnd = treeCpuSeconds(pid);
    const wall = (performance.now() - wallStart) / 1000;
    if (cpuStart === undefined || cpuEnd === undefined || wall <= 0) return undefined;
    return Number(((cpuEnd - cpuStart) / wall).toFixed(2));
  };
}
