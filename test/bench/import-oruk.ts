// Directory import throughput: services per second imported through the
// Repository (full validation of every HealthcareService, Organization and
// Location, write-ahead log flushed per write), for a generated directory of
// N services (default 10,000): a first import (all created), a re-import
// (all unchanged) and a re-import with every service changed (all updated).
// The embedded store by default; MongoDB when MONGODB_URI is set.
// Run: npm run bench:import [-- N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { importDirectory, type ImportSummary } from '../../src/directory/import';
import { emptyContent, readDocument } from '../../src/directory/read';
import { generateServices } from './oruk-generator';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-import-'));
  const mongodbUri = process.env.MONGODB_URI;
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...(mongodbUri ? { MONGODB_URI: mongodbUri } : {}) }));
  const services = generateServices(n);
  const run = async (label: string, list: unknown[]): Promise<Record<string, unknown>> => {
    const content = emptyContent();
    readDocument(content, list, label);
    const started = process.hrtime.bigint();
    const summary: ImportSummary = await importDirectory(app.fhir.repo, content);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rejections, ...counts } = summary;
    if (rejections.length > 0) throw new Error(`Rejected: ${JSON.stringify(rejections.slice(0, 3))}`);
    return { run: label, ...counts, seconds: Number(seconds.toFixed(2)), servicesPerSecond: Math.round(n / seconds) };
  };
  try {
    const results = [
      await run('first import (created)', services),
      await run('re-import (unchanged)', services),
      await run(
        're-import (updated)',
        services.map((s) => ({ ...s, description: `${s.description} Updated.` }))
      ),
    ];
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'ORUK directory import',
          services: n,
          resourcesPerService: 'HealthcareService + Organization (1 per 10 services) + Location (1 per 3 services)',
          store: app.store.kind,
          machine: {
            cpus: os.cpus().length,
            cpuModel: os.cpus()[0]?.model,
            memoryGiB: Math.round(os.totalmem() / 2 ** 30),
            node: process.version,
            platform: `${os.platform()} ${os.release()}`,
          },
          results,
        },
        null,
        2
      )}\n`
    );
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
