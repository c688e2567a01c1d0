// Loaded into the benchmarked server with --require: measures the server's
// event-loop delay (perf_hooks.monitorEventLoopDelay) for its whole run and
// writes the figures to EVENT_LOOP_REPORT when the process exits. A long
// delay means requests waited behind synchronous work (a sync to disk, a big
// JSON.parse); the embedded store's group commit is what keeps it short.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.EVENT_LOOP_REPORT;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  process.on('exit', () => {
    histogram.disable();
    const report = {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      p999: ms(histogram.percentile(99.9)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
    };
    fs.writeFileSync(file, JSON.stringify(report));
  });
}
