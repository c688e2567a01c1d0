// npm run import:oruk -- [--no-deactivate] [--dry-run] [--concurrency N] <file-or-directory>...
// Imports an Open Referral UK directory into the store the server uses
// (DATA_DIR or MONGODB_URI), through the server's Repository, with a progress
// display and a summary. See src/directory/import.ts for what is written.
import { importDirectory, type ImportSummary } from '../directory/import';
import { InputError, readDirectoryFiles } from '../directory/files';
import { fail, openApp } from './open-app';
import { progressDisplay } from './progress';

const USAGE = 'Usage: npm run import:oruk -- [--no-deactivate] [--dry-run] [--concurrency N] <file-or-directory>...';

export function printSummary(summary: ImportSummary, out: NodeJS.WriteStream = process.stdout): void {
  const rate = summary.seconds > 0 ? Math.round(summary.total / summary.seconds) : summary.total;
  out.write(
    `Imported ${summary.total} services in ${summary.seconds.toFixed(1)} s (${rate}/s): ` +
      `created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, ` +
      `deactivated ${summary.deactivated}, rejected ${summary.rejected}\n`
  );
  if (summary.dryRun) out.write('Dry run: nothing was written; the counts are what the import would do.\n');
  if (summary.deactivationSkipped) out.write(`No service was deactivated: ${summary.deactivationSkipped}.\n`);
  for (const r of summary.rejections) out.write(`  rejected ${r.serviceId ?? '(no id)'} from ${r.source}: ${r.reason}\n`);
}

function parseArgs(argv: string[]): { paths: string[]; deactivate: boolean; dryRun: boolean; concurrency?: number } {
  const paths: string[] = [];
  let deactivate = true;
  let dryRun = false;
  let concurrency: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-deactivate') deactivate = false;
    else if (arg === '--dry-run') dryRun = true;
    else if (arg === '--concurrency') {
      concurrency = Number(argv[++i]);
      if (!Number.isInteger(concurrency) || concurrency < 1) fail(`--concurrency takes a whole number of 1 or more\n${USAGE}`, 2);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg.startsWith('--')) fail(`Unknown option ${arg}\n${USAGE}`, 2);
    else paths.push(arg);
  }
  if (paths.length === 0) fail(USAGE, 2);
  return { paths, deactivate, dryRun, concurrency };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let content;
  try {
    content = readDirectoryFiles(args.paths);
  } catch (err) {
    if (err instanceof InputError) fail(err.message, 2);
    throw err;
  }
  const app = await openApp('import the directory');
  try {
    const progress = progressDisplay();
    const summary = await importDirectory(app.fhir.repo, content, {
      deactivateMissing: args.deactivate,
      dryRun: args.dryRun,
      minAcceptedShare: app.fhir.directoryMinAcceptedShare,
      concurrency: args.concurrency,
      onProgress: progress.update,
    });
    progress.finish(summary);
    printSummary(summary);
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => fail(`Import failed: ${err instanceof Error ? err.message : String(err)}`));
}
