// Audit retention (AUDIT_RETENTION_DAYS): a background sweep removes
// AuditEvents older than the retention period, a batch at a time, never on a
// request's path. By default nothing is removed: NHS organisations keep audit
// for years, and export it (Bulk $export of AuditEvent) before it expires.
import type { Logger } from 'pino';
import type { StoragePort } from '../store/port';

/** AuditEvents removed per store call, so a large backlog never holds the store for long. */
const BATCH = 1000;
const DAY_MS = 86_400_000;

export interface AuditRetentionOptions {
  days: number;
  /** How often the sweep runs. */
  intervalMs?: number;
  /** The clock, so a test can move it. */
  now?: () => number;
}

export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: StoragePort,
    private readonly options: AuditRetentionOptions,
    private readonly logger?: Logger
  ) {}

  start(): void {
    const interval = this.options.intervalMs ?? 3_600_000;
    const tick = (): void => {
      this.sweep().catch((err: unknown) => this.logger?.warn({ err }, 'audit retention sweep failed; it runs again later'));
    };
    setImmediate(tick);
    this.timer = setInterval(tick, interval);
    this.timer.unref();
  }

  /** Removes every expired AuditEvent; resolves to how many. One sweep at a time. */
  sweep(): Promise<number> {
    this.running ??= this.removeExpired().finally(() => (this.running = undefined));
    return this.running;
  }

  private async removeExpired(): Promise<number> {
    const before = new Date((this.options.now ?? Date.now)() - this.options.days * DAY_MS).toISOString();
    let removed = 0;
    for (;;) {
      const batch = await this.store.removeAuditEventsBefore(before, BATCH);
      removed += batch;
      if (batch < BATCH) break;
      // Let requests in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (removed > 0) this.logger?.info({ removed, before }, 'audit retention: removed expired AuditEvents');
    return removed;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
