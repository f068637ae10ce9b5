import { formatBytes } from '../console/format';

/** A rate from the last few seconds: a burst at the start fades and a slowdown shows soon. */
const WINDOW_MS = 5000;

interface Sample {
  at: number;
  done: number;
}

/**
 * Rate and time left of a transfer, from the bytes done at each moment the transfer reports. The
 * clock is a parameter so the arithmetic is tested without waiting on time.
 */
export class TransferMeter {
  private readonly samples: Sample[] = [];

  constructor(
    readonly total: number,
    private readonly now: () => number = Date.now,
  ) {
    this.samples.push({ at: now(), done: 0 });
  }

  update(done: number): void {
    const at = this.now();
    this.samples.push({ at, done });
    // Keep one sample at or before the window's start, so the window always spans WINDOW_MS once it can.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second over the window; undefined until some time has passed. */
  rate(): number | undefined {
    const first = this.samples[0]!;
    const last = this.samples.at(-1)!;
    const ms = last.at - first.at;
    return ms > 0 ? ((last.done - first.done) * 1000) / ms : undefined;
  }

  /** Seconds left at the current rate; 0 when done; undefined while the rate is unknown or nil. */
  secondsLeft(): number | undefined {
    const left = this.total - this.samples.at(-1)!.done;
    if (left <= 0) return 0;
    const rate = this.rate();
    return rate === undefined || rate <= 0 ? undefined : left / rate;
  }

  /** The values the progress bar's format shows: `{done}`, `{size}`, `{rate}`, `{left}`. */
  tokens(): { done: string; size: string; rate: string; left: string } {
    const rate = this.rate();
    const left = this.secondsLeft();
    return {
      done: formatBytes(this.samples.at(-1)!.done),
      size: formatBytes(this.total),
      rate: rate === undefined ? '-- MB/s' : `${(rate / 1e6).toFixed(1)} MB/s`,
      left: left === undefined ? '--' : formatDuration(left),
    };
  }
}

/** "42s", "3m07s", "1h02m": as download tools show time left. */
export function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
