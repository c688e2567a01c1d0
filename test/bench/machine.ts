// The machine a benchmark ran on, and how busy it was: figures taken on a
// shared machine are only comparable with the load average beside them.
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel?: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: number[];
}

export function machine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cpus} cores (${m.cpuModel ?? 'unknown CPU'}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, load average ${m.loadAverage.join(' ')} at start`;
}
