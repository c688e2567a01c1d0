// Requests still being handled. A client may go away (its socket closes)
// while its request is still being worked on; the store must stay open until
// that work ends, or it fails half-way with "store closed" (app.close waits).
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.count === 0) this.waiters.splice(0).forEach((w) => w());
    };
  }

  /** Resolves when no request is being handled, or after timeoutMs. */
  idle(timeoutMs = 5000): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
