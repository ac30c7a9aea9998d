/**
 * A token bucket over bytes: background work (scrub, rebuild at low intensity) calls
 * take(n) before each unit of I/O and waits when it is ahead of its rate. A burst of
 * one second's worth is allowed, so a single large extent never waits forever.
 */
export class RateLimiter {
  private tokens = 0;
  private last = Date.now();

  /** bytesPerSec 0 means unlimited. */
  constructor(private bytesPerSec: number) {
    this.tokens = bytesPerSec;
  }

  setRate(bytesPerSec: number): void {
    this.bytesPerSec = bytesPerSec;
    this.tokens = Math.min(this.tokens, bytesPerSec);
  }

  get rate(): number {
    return this.bytesPerSec;
  }

  /** Wait until `bytes` fit the rate; `abort` is polled so a stopping job does not sleep on. */
  async take(bytes: number, abort: () => boolean = () => false): Promise<void> {
    for (;;) {
      if (this.bytesPerSec <= 0) return;
      const now = Date.now();
      this.tokens = Math.min(this.bytesPerSec, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
      this.last = now;
      if (this.tokens > 0 || abort()) {
        // Go into debt for a unit larger than the bucket; the next calls pay it back.
        this.tokens -= bytes;
        return;
      }
      const waitMs = Math.min(250, Math.ceil((-this.tokens / this.bytesPerSec) * 1000) + 1);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
