import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';

export interface AlarmOptions {
  /** Resident memory above which publishers are blocked (RabbitMQ: 40% of RAM). */
  memoryHighWatermarkBytes?: number;
  /** Free disk below which publishers are blocked (RabbitMQ: 50 MB). */
  diskFreeLimitBytes?: number;
  /** Check interval, ms. */
  intervalMs?: number;
}

/**
 * Memory and disk alarms as RabbitMQ raises them: while one is on, connections that publish are
 * blocked (told with connection.blocked and no longer read), so slow consumers cannot make the
 * broker buffer without bound.
 */
export class ResourceAlarms {
  private timer: NodeJS.Timeout | undefined;
  reason: string | null = null;
  memoryHighWatermarkBytes: number;
  diskFreeLimitBytes: number;

  constructor(
    private readonly dataDir: string,
    opts: AlarmOptions,
    private readonly onChange: (reason: string | null) => void,
  ) {
    this.memoryHighWatermarkBytes = opts.memoryHighWatermarkBytes ?? Math.floor(totalmem() * 0.4);
    this.diskFreeLimitBytes = opts.diskFreeLimitBytes ?? 50 * 1024 * 1024;
    this.timer = setInterval(() => this.check(), opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  check(): void {
    let reason: string | null = null;
    if (process.memoryUsage.rss() > this.memoryHighWatermarkBytes) reason = 'low on memory';
    else if (this.diskFree() < this.diskFreeLimitBytes) reason = 'low on disk';
    if (reason !== this.reason) {
      this.reason = reason;
      this.onChange(reason);
    }
  }

  private diskFree(): number {
    try {
      const s = statfsSync(this.dataDir);
      return s.bavail * s.bsize;
    } catch {
      return Infinity;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
