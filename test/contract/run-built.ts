import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type HandlerRun, spawnHandler } from '../support/bundle-process';
import { recordForSecretScan } from '../support/secret-scan';

export type { EventForm } from '../support/bundle-process';

export interface BuiltExit {
  summary?: unknown;
  rejected?: string;
  /** Each line of stdout and stderr, parsed; a line that is not JSON fails the run. */
  logLines: Record<string, unknown>[];
  stdout: string;
  stderr: string;
}

/** Builds dist/index.js into a fresh, empty folder, as the platform gets it: no node_modules beside it. */
export async function buildBundle(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'contract-'));
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', dir]);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the built handler once in a fresh Node process, and reads its log lines. */
export async function runBuilt(dir: string, run: HandlerRun): Promise<BuiltExit> {
  const { answer, stdout, stderr } = await spawnHandler(dir, run).done;
  recordForSecretScan('contract bundle stdout', stdout);
  recordForSecretScan('contract bundle stderr', stderr);
  const logLines = (stdout + stderr)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...answer, logLines, stdout, stderr };
}
