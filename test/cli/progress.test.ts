import { describe, expect, it } from 'vitest';
import { TransferMeter, formatDuration } from '../../src/cli/progress';

const MB = 1e6;

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

describe("TransferMeter: the upload bar's rate and time left", () => {
  it('a steady 10 MB/s over 300 MB: rate 10 MB/s, time left shrinking by a second each second', () => {
    const clock = fakeClock();
    const meter = new TransferMeter(300 * MB, clock.now);
    expect(meter.rate()).toBeUndefined();
    expect(meter.tokens()).toEqual({ done: '0 B', size: '286 MiB', rate: '-- MB/s', left: '--' });
    for (let second = 1; second <= 20; second++) {
      clock.advance(1000);
      meter.update(second * 10 * MB);
      expect(meter.rate()).toBeCloseTo(10 * MB, 6);
      expect(meter.secondsLeft()).toBeCloseTo(30 - second, 6);
    }
    expect(meter.tokens()).toEqual({ done: '191 MiB', size: '286 MiB', rate: '10.0 MB/s', left: '10s' });
  });

  it('follows a slowdown within the 5 s window, not the average since the start', () => {
    const clock = fakeClock();
    const meter = new TransferMeter(300 * MB, clock.now);
    let done = 0;
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      meter.update((done += 20 * MB));
    }
    expect(meter.rate()).toBeCloseTo(20 * MB, 6);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      meter.update((done += 2 * MB));
    }
    // 10 s at 20 MB/s, then 5 s at 2 MB/s: the average since the start would say 14 MB/s.
    expect(meter.rate()).toBeCloseTo(2 * MB, 6);
    expect(meter.secondsLeft()).toBeCloseTo((300 - 210) / 2, 6);
    expect(meter.tokens().left).toBe('45s');
  });

  it('parts that land in bursts (8 MiB each, several at once) average over the window', () => {
    const clock = fakeClock();
    const part = 8 * 2 ** 20;
    const meter = new TransferMeter(40 * part, clock.now);
    // Five parts in flight finish together every 4 s: 40 MiB per 4 s.
    for (let burst = 1; burst <= 4; burst++) {
      clock.advance(4000);
      for (let p = 1; p <= 5; p++) meter.update(((burst - 1) * 5 + p) * part);
    }
    expect(meter.rate()).toBeCloseTo((5 * part) / 4, 0);
    expect(meter.secondsLeft()).toBeCloseTo(16, 6);
  });

  it('says 0 left when done and -- while nothing moves', () => {
    const clock = fakeClock();
    const meter = new TransferMeter(10 * MB, clock.now);
    clock.advance(3000);
    meter.update(0);
    expect(meter.secondsLeft()).toBeUndefined();
    clock.advance(1000);
    meter.update(10 * MB);
    expect(meter.secondsLeft()).toBe(0);
  });
});

describe('formatDuration', () => {
  it('seconds, minutes and hours, rounded up', () => {
    expect([0, 0.2, 42, 59.5, 60, 187, 3599, 3600, 3720].map(formatDuration)).toEqual([
      '0s',
      '1s',
      '42s',
      '1m00s',
      '1m00s',
      '3m07s',
      '59m59s',
      '1h00m',
      '1h02m',
    ]);
  });
});
