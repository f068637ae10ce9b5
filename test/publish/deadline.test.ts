import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FcRejectedError, InvalidInputError, PreconditionFailedError, TransientError } from '../../src/errors';
import { DEFAULT_RETRY, Deadline, sleep, withRetry, type RetryPolicy } from '../../src/publish/deadline';

const POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 3_000, reserveMs: 5_000 };

/** A deadline far away on the fake clock, so only attempts and jitter decide. */
const farDeadline = () => Deadline.after(10 * 60_000, () => Date.now());

function transient(n: number): TransientError {
  return new TransientError(`OSS 503 (try ${n})`);
}

/** An operation that fails with `errors[i]` on call i+1 and then returns 'done'. */
function scripted(errors: readonly Error[]) {
  return vi.fn(async (attempt: number) => {
    const error = errors[attempt - 1];
    if (error) throw error;
    return 'done';
  });
}

/** Runs withRetry to completion on fake timers; returns its outcome and the delays it chose. */
async function settle<T>(run: (onRetry: (error: TransientError, attempt: number, delayMs: number) => void) => Promise<T>) {
  const delays: Array<[number, number]> = [];
  const promise = run((_, attempt, delayMs) => delays.push([attempt, delayMs]));
  const outcome = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await vi.runAllTimersAsync();
  return { ...(await outcome), delays };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-20T08:00:00.000Z') });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Deadline', () => {
  it('remainingMs follows the injected clock', () => {
    let now = 1_000;
    const deadline = new Deadline(61_000, () => now);
    expect(deadline.remainingMs()).toBe(60_000);
    now = 31_000;
    expect(deadline.remainingMs()).toBe(30_000);
    now = 70_000;
    expect(deadline.remainingMs()).toBe(-9_000);
    expect(deadline.epochMs).toBe(61_000);
  });

  it('after(ms) ends ms from now', () => {
    let now = 5_000;
    const deadline = Deadline.after(2_000, () => now);
    expect(deadline.epochMs).toBe(7_000);
    now = 6_500;
    expect(deadline.remainingMs()).toBe(500);
  });

  it('uses Date.now by default', () => {
    const deadline = Deadline.after(1_000);
    expect(deadline.epochMs).toBe(Date.now() + 1_000);
    vi.advanceTimersByTime(400);
    expect(deadline.remainingMs()).toBe(600);
  });
});

describe('sleep', () => {
  it('resolves after the given time on the (fake) clock', async () => {
    let done = false;
    void sleep(250).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(249);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });
});

describe('withRetry: which failures are retried (docs/contract.md §7)', () => {
  it('returns the first success without waiting', async () => {
    const operation = scripted([]);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result).toMatchObject({ ok: true, value: 'done', delays: [] });
    expect(operation).toHaveBeenCalledTimes(1);
    expect(operation).toHaveBeenCalledWith(1);
  });

  it('retries transient errors and returns the later success', async () => {
    const operation = scripted([transient(1), transient(2)]);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result).toMatchObject({ ok: true, value: 'done' });
    expect(operation.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
    expect(result.delays.map(([attempt]) => attempt)).toEqual([1, 2]);
  });

  it('makes exactly `attempts` tries and then throws the last transient error', async () => {
    const errors = [1, 2, 3, 4, 5, 6].map(transient);
    const operation = scripted(errors);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(operation).toHaveBeenCalledTimes(4);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBe(errors[3]);
      expect((result.error as TransientError).retryable).toBe(true);
      expect((result.error as TransientError).code).toBe('Unavailable');
    }
    expect(result.delays).toHaveLength(3);
  });

  it.each([1, 2, 5, 10])('attempts = %i is honoured', async (attempts) => {
    const operation = scripted(Array.from({ length: 20 }, (_, i) => transient(i + 1)));
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), { ...POLICY, attempts }, onRetry));
    expect(result.ok).toBe(false);
    expect(operation).toHaveBeenCalledTimes(attempts);
    expect(result.delays).toHaveLength(attempts - 1);
  });

  it.each([
    ['InvalidInputError', new InvalidInputError('ZipInvalid', 'not a zip')],
    ['FcRejectedError', new FcRejectedError('FC said 400 InvalidArgument')],
    ['PreconditionFailedError', new PreconditionFailedError('a newer upload replaced it')],
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is undefined')],
  ])('a permanent %s is thrown at once, with no wait', async (_, error) => {
    const operation = scripted([error]);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result).toMatchObject({ ok: false, error, delays: [] });
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('a permanent error after transient ones is thrown at once', async () => {
    const permanent = new FcRejectedError('FC said 403');
    const operation = scripted([transient(1), permanent]);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result).toMatchObject({ ok: false, error: permanent });
    expect(operation).toHaveBeenCalledTimes(2);
    expect(result.delays).toHaveLength(1);
  });

  it('a non-Error throw is not retried', async () => {
    const operation = vi.fn(async () => {
      throw 'string thrown';
    });
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result).toMatchObject({ ok: false, error: 'string thrown' });
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('works without an onRetry callback and with the default policy', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const operation = scripted([transient(1)]);
    const promise = withRetry(operation, farDeadline());
    await vi.runAllTimersAsync();
    await expect(promise).resolves.toBe('done');
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('the default policy is bounded: a few tries, waits of seconds, a reserve kept back', () => {
    expect(DEFAULT_RETRY.attempts).toBeGreaterThan(1);
    expect(DEFAULT_RETRY.attempts).toBeLessThanOrEqual(10);
    expect(DEFAULT_RETRY.baseDelayMs).toBeGreaterThan(0);
    expect(DEFAULT_RETRY.maxDelayMs).toBeGreaterThanOrEqual(DEFAULT_RETRY.baseDelayMs);
    expect(DEFAULT_RETRY.maxDelayMs).toBeLessThanOrEqual(30_000);
    expect(DEFAULT_RETRY.reserveMs).toBeGreaterThan(0);
  });
});

describe('withRetry: waits are jittered and bounded', () => {
  it('waits the chosen delay before the next try, on the clock', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // 0.5 * 200 = 100 ms
    const operation = scripted([transient(1)]);
    const delays: number[] = [];
    const promise = withRetry(operation, farDeadline(), POLICY, (_, __, delayMs) => delays.push(delayMs));
    await vi.advanceTimersByTimeAsync(0);
    expect(operation).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([100]);
    await vi.advanceTimersByTimeAsync(99);
    expect(operation).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(operation).toHaveBeenCalledTimes(2);
    await expect(promise).resolves.toBe('done');
  });

  it('the ceiling doubles from the base delay and stops at the maximum', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999_9); // the ceiling itself, after rounding
    const operation = scripted(Array.from({ length: 7 }, (_, i) => transient(i + 1)));
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), { ...POLICY, attempts: 8 }, onRetry));
    expect(result.delays).toEqual([
      [1, 200],
      [2, 400],
      [3, 800],
      [4, 1_600],
      [5, 3_000],
      [6, 3_000],
      [7, 3_000],
    ]);
  });

  it('full jitter: a random 0 means no wait at all', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const operation = scripted([transient(1), transient(2)]);
    const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
    expect(result.delays).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it('each delay is a whole number in [0, min(max, base * 2^(attempt-1))] (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        async (randoms, baseDelayMs, maxDelayMs) => {
          let next = 0;
          const random = vi.spyOn(Math, 'random').mockImplementation(() => randoms[next++ % randoms.length]!);
          const policy: RetryPolicy = { attempts: randoms.length + 1, baseDelayMs, maxDelayMs, reserveMs: 0 };
          const operation = scripted(Array.from({ length: randoms.length }, (_, i) => transient(i + 1)));
          const result = await settle((onRetry) => withRetry(operation, farDeadline(), policy, onRetry));
          random.mockRestore();
          expect(result).toMatchObject({ ok: true, value: 'done' });
          expect(result.delays).toHaveLength(randoms.length);
          for (const [attempt, delayMs] of result.delays) {
            expect(Number.isInteger(delayMs)).toBe(true);
            expect(delayMs).toBeGreaterThanOrEqual(0);
            expect(delayMs).toBeLessThanOrEqual(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('with the real Math.random, delays stay within bounds and vary', async () => {
    const all: number[] = [];
    for (let run = 0; run < 40; run++) {
      const operation = scripted([transient(1), transient(2), transient(3)]);
      const result = await settle((onRetry) => withRetry(operation, farDeadline(), POLICY, onRetry));
      expect(result.ok).toBe(true);
      for (const [attempt, delayMs] of result.delays) {
        expect(delayMs).toBeGreaterThanOrEqual(0);
        expect(delayMs).toBeLessThanOrEqual(Math.min(POLICY.maxDelayMs, POLICY.baseDelayMs * 2 ** (attempt - 1)));
        all.push(delayMs);
      }
    }
    // Jittered: not every wait the same (120 draws from up to 801 values).
    expect(new Set(all).size).toBeGreaterThan(1);
  });
});

describe('withRetry: the deadline reserve (docs/contract.md §7)', () => {
  it('does not wait when the wait would cross into the reserve: the transient error is thrown', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999_9); // 200 ms
    const now = 0;
    const deadline = new Deadline(5_100, () => now); // 5,100 left, 5,000 reserved: 100 ms to spend
    const first = transient(1);
    const operation = scripted([first]);
    const result = await settle((onRetry) => withRetry(operation, deadline, POLICY, onRetry));
    expect(result).toMatchObject({ ok: false, error: first, delays: [] });
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('waits when the wait ends exactly at the reserve', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // 100 ms
    const now = 0;
    const deadline = new Deadline(5_100, () => now);
    const operation = scripted([transient(1)]);
    const result = await settle((onRetry) => withRetry(operation, deadline, POLICY, onRetry));
    expect(result).toMatchObject({ ok: true, value: 'done', delays: [[1, 100]] });
  });

  it('stops retrying as the clock runs down, before attempts run out', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    let now = 0;
    // Each try takes 1 s of the (injected) clock; 8.5 s in all, 5 s reserved.
    const deadline = new Deadline(8_500, () => now);
    const operation = vi.fn(async (attempt: number) => {
      now += 1_000;
      throw transient(attempt);
    });
    const result = await settle((onRetry) =>
      withRetry(operation, deadline, { ...POLICY, attempts: 10 }, (error, attempt, delayMs) => {
        now += delayMs;
        onRetry(error, attempt, delayMs);
      }),
    );
    // try 1 ends at 1,000 (+100 wait), try 2 at 2,100 (+200), try 3 at 3,300: 5,200 left, a 400 ms wait
    // would leave 4,800 < 5,000, so try 3's error is final.
    expect(operation).toHaveBeenCalledTimes(3);
    expect(result.ok).toBe(false);
    if (!result.ok) expect((result.error as TransientError).message).toBe('OSS 503 (try 3)');
    expect(result.delays).toEqual([
      [1, 100],
      [2, 200],
    ]);
  });

  it('a deadline already inside the reserve gets one try and no retry', async () => {
    const now = 10_000;
    const deadline = new Deadline(12_000, () => now);
    const operation = scripted([transient(1)]);
    const result = await settle((onRetry) => withRetry(operation, deadline, POLICY, onRetry));
    expect(operation).toHaveBeenCalledTimes(1);
    expect(result).toMatchObject({ ok: false, delays: [] });
  });

  it('never sleeps past the reserve, whatever the policy and clock (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (budgetMs, reserveMs, tryMs, attempts, r) => {
          vi.spyOn(Math, 'random').mockReturnValue(r);
          let now = 0;
          const deadline = new Deadline(budgetMs, () => now);
          const operation = vi.fn(async (attempt: number) => {
            now += tryMs;
            throw transient(attempt);
          });
          const policy: RetryPolicy = { attempts, baseDelayMs: 300, maxDelayMs: 2_000, reserveMs };
          const leftAfterWait: number[] = [];
          const result = await settle((onRetry) =>
            withRetry(operation, deadline, policy, (error, attempt, delayMs) => {
              leftAfterWait.push(deadline.remainingMs() - delayMs);
              now += delayMs;
              onRetry(error, attempt, delayMs);
            }),
          );
          vi.restoreAllMocks();
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.error).toBeInstanceOf(TransientError);
          for (const left of leftAfterWait) expect(left).toBeGreaterThanOrEqual(reserveMs);
          expect(operation.mock.calls.length).toBeLessThanOrEqual(attempts);
          expect(operation.mock.calls.length).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 100 },
    );
  });
});
