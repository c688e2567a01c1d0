// Opens the server's app over the configured store (DATA_DIR or MONGODB_URI,
// as the server does), without listening: the command-line tools write
// through its Repository and FHIR layer, so every rule and validation applies.
import { createApp, type App } from '../app';
import { ConfigError, loadConfig } from '../config';

/** Exits with a message a person can act on; never a stack trace. */
export function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

export async function openApp(purpose: string): Promise<App> {
  let config;
  try {
    // Quiet by default: the tool prints its own progress; LOG_LEVEL still wins.
    config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  try {
    return await createApp(config);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The embedded store takes a lock on DATA_DIR (one process per data directory).
    const owner = /in use by process (\d+)/.exec(message);
    if (owner) {
      fail(
        `Cannot ${purpose}: the data directory ${config.dataDir} is in use by process ${owner[1]} (a running server).\n` +
          `Stop that server first, or send the directory to it instead: POST ${config.baseUrl}/$import-directory ` +
          `(Content-Type: application/json, Prefer: respond-async).`
      );
    }
    fail(`Cannot ${purpose}: ${message}`);
  }
}
