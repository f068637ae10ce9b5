import { TransientError } from '../errors';

/**
 * The time an invocation has. Function Compute ends the process at the function's timeout; the
 * result must be written before then, so every wait and retry asks what is left first.
 */
export class Deadline {
  constructor(
    private readonly endsAt: number,
    private readonly now: () => number = Date.now,
  ) {}

  static after(ms: number, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, now);
  }

  remainingMs(): number {
    return this.endsAt - this.now();
  }

  get epochMs(): number {
    return this.endsAt;
  }

  /**
   * `operation`'s answer, unless it comes later than `reserveMs` before the end: then an
   * OutOfTimeError, and the operation is left to finish or fail on its own. No request may keep
   * the invocation past its time, whatever the client's own timeout (docs/contract.md §7).
   */
  async within<T>(operation: Promise<T>, reserveMs: number, what: string): Promise<T> {
    const leftMs = this.remainingMs() - reserveMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OutOfTimeError(`${what} had no answer in the time this invocation has left`)), Math.max(0, Math.floor(leftMs)));
    });
    try {
      return await Promise.race([operation, expired]);
    } finally {
      clearTimeout(timer);
      // The abandoned operation may still fail; nobody waits for it any more.
      operation.catch(() => undefined);
    }
  }
}

/** An operation abandoned at the deadline: its outcome is unknown, and the event is delivered again. */
export class OutOfTimeError extends TransientError {
  constructor(message: string) {
    super(message, { context: { outcomeUnknown: true } });
    this.name = 'OutOfTimeError';
  }
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time kept back for writing the result after the last try. */
  reserveMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 3_000, reserveMs: 5_000 };

/**
 * The policy for an invocation of `budgetMs` in all: a short function (a few seconds) keeps back a
 * fifth of its time for the result rather than DEFAULT_RETRY's 5 s, which would leave it nothing.
 */
export function retryPolicyFor(budgetMs: number): RetryPolicy {
  return { ...DEFAULT_RETRY, reserveMs: Math.min(DEFAULT_RETRY.reserveMs, Math.max(0, budgetMs) / 5) };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries `operation` on transient failures with full-jitter exponential backoff, never sleeping
 * past the deadline's reserve. Permanent failures are thrown at once.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  deadline: Deadline,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (error: TransientError, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= policy.attempts) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(Math.random() * ceiling);
      if (deadline.remainingMs() - delayMs < policy.reserveMs) throw error;
      onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
