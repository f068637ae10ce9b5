import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChaos, startChaosServer } from './chaos';

/**
 * The seeded chaos of the home region, of three regions and of the rollout
 * (docs/rollout.md), briefly: `npm run chaos -- --iterations N [--regions | --rollout]` runs one of
 * them at length (CHAOS_MODE home, regions or rollout picks it; CHAOS_ITERATIONS, CHAOS_SEED, CHAOS_PARALLEL, CHAOS_FIRST; CHAOS_REPORT names a
 * file for the counts).
 */
const mode = process.env.CHAOS_MODE;
const seed = Number(process.env.CHAOS_SEED ?? 20261201);
const parallel = Number(process.env.CHAOS_PARALLEL ?? 3);
const first = Number(process.env.CHAOS_FIRST ?? 0);

let stop: () => void = () => undefined;
beforeAll(() => {
  stop = startChaosServer();
});
afterAll(() => stop());

function chaosRun(mode: { regions: boolean; rollout?: boolean }, shortRun: number) {
  const { regions } = mode;
  const iterations = Number(process.env.CHAOS_ITERATIONS ?? shortRun);
  return [
    `${iterations} iterations (seed ${seed}): every invariant holds after each`,
    async () => {
      const report = await runChaos({
        iterations,
        seed,
        parallel,
        first,
        regions,
        rollout: mode.rollout ?? false,
        // CHAOS_LOGS names a folder for the log lines of failed iterations.
        onFailure: (index, lines) => {
          if (process.env.CHAOS_LOGS)
            writeFileSync(`${process.env.CHAOS_LOGS}/${regions ? 'regions-' : mode.rollout ? 'rollout-' : ''}iteration-${index}.log`, lines.join(''));
        },
      });
      console.log(`chaos${regions ? ' (regions)' : mode.rollout ? ' (rollout)' : ''}: ${JSON.stringify(report)}`);
      if (process.env.CHAOS_REPORT) writeFileSync(process.env.CHAOS_REPORT, JSON.stringify(report));
      expect(report.iterations).toBe(iterations);
      expect(report.failures).toEqual([]);
      expect(report.violations).toBe(0);
    },
    Math.max(60_000, Math.ceil(iterations / parallel) * 60_000),
  ] as const;
}

describe('seeded chaos: kills, faults, slow FC and skewed clocks at random', () => {
  it.skipIf(mode === 'regions' || mode === 'rollout')(...chaosRun({ regions: false }, 6));
});

describe('seeded chaos in three regions: the same, in any region, and a region refusing for good', () => {
  it.skipIf(mode === 'home' || mode === 'rollout')(...chaosRun({ regions: true }, 4));
});

describe('seeded chaos with a rollout: faults on the functions too, one move per function and version', () => {
  it.skipIf(mode === 'home' || mode === 'regions')(...chaosRun({ regions: false, rollout: true }, 4));
});
