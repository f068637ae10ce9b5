#!/usr/bin/env node
// The seeded chaos test at length: `npm run chaos -- --iterations 500 [--seed S] [--parallel P]`;
// with `--regions`, three regions, faults in any of them; with `--rollout`, the rollout's
// (docs/rollout.md): three functions moved to each version, half the time with a canary on alias prod,
// faults on their reads and updates and on PublishFunctionVersion and UpdateAlias. Runs test/faults/chaos.test.ts
// under vitest (the same code `npm test` runs briefly) and prints its counts: iterations, deliveries,
// kills, faults by kind, versions made (per region with --regions), invariant violations.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// --first I starts at iteration I: an iteration's faults depend on the seed and its index only, so
// `--seed S --first I --iterations 1` replays one that failed.
const usage = 'usage: npm run chaos -- [--iterations N] [--seed S] [--parallel P] [--first I] [--regions | --rollout]';
const options = { iterations: 100, seed: 20261201, parallel: 6, first: 0 };
let regions = false;
let rollout = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--regions' || args[i] === '--rollout') {
    if (args[i] === '--regions') regions = true;
    else rollout = true;
    continue;
  }
  const name = args[i].replace(/^--/, '');
  const value = Number(args[i + 1]);
  if (!(name in options) || !Number.isInteger(value) || value < (name === 'seed' || name === 'first' ? 0 : 1)) {
    console.error(`${args[i]} ${args[i + 1] ?? ''}: not an option with a whole number\n${usage}`);
    process.exit(2);
  }
  options[name] = value;
  i += 1;
}

const dir = mkdtempSync(join(tmpdir(), 'chaos-'));
const reportFile = join(dir, 'report.json');
if (regions && rollout) {
  console.error(`--regions and --rollout: one at a time\n${usage}`);
  process.exit(2);
}
console.log(
  `chaos: ${options.iterations} iterations, seed ${options.seed}, ${options.parallel} at once${regions ? ', three regions' : rollout ? ', with a rollout' : ''}`,
);
const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/faults/chaos.test.ts'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    CHAOS_ITERATIONS: String(options.iterations),
    CHAOS_SEED: String(options.seed),
    CHAOS_PARALLEL: String(options.parallel),
    CHAOS_FIRST: String(options.first),
    CHAOS_REPORT: reportFile,
    CHAOS_MODE: regions ? 'regions' : rollout ? 'rollout' : 'home',
  },
});
child.on('close', (code) => {
  let report;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch {
    console.error(`chaos: the test wrote no report (vitest exited ${code}); run npx vitest run test/faults/chaos.test.ts to see why`);
    process.exit(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const faults = Object.entries(report.faults).sort(([a], [b]) => a.localeCompare(b));
  console.log(`iterations        ${report.iterations}`);
  console.log(`deliveries        ${report.deliveries}`);
  console.log(`kills             ${report.kills}`);
  console.log(`skewed clocks     ${report.skewedDeliveries} deliveries`);
  console.log(`faults            ${faults.reduce((sum, [, n]) => sum + n, 0)}`);
  const width = Math.max(30, ...faults.map(([kind]) => kind.length + 2));
  for (const [kind, n] of faults) console.log(`  ${kind.padEnd(width)}${n}`);
  console.log(`versions made     ${report.versionsMade}${report.versionsByRegion ? ' (home region)' : ''}`);
  for (const [region, n] of Object.entries(report.versionsByRegion ?? {})) console.log(`  ${region.padEnd(width)}${n}`);
  if (report.functionUpdates !== undefined) console.log(`function updates  ${report.functionUpdates}`);
  if (report.canaries !== undefined) {
    const { iterations, functionVersions, aliasMoves } = report.canaries;
    console.log(`canaries          ${iterations} iterations, ${functionVersions} function versions published, ${aliasMoves} alias moves`);
  }
  console.log(`violations        ${report.violations}`);
  for (const failure of report.failures.slice(0, 20)) console.log(`  ${failure}`);
  console.log(`time              ${report.seconds} s`);
  process.exit(report.violations === 0 && code === 0 ? 0 : 1);
});
