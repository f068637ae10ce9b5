import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordForSecretScan } from '../support/secret-scan';

/** How the event reaches the handler: FC's Buffer, or the string and object the contract also accepts (§1). */
export type EventForm = 'buffer' | 'string' | 'object';

export interface BuiltRun {
  event: unknown;
  form?: EventForm;
  /** The whole context, as given; nothing is added to it. */
  context: unknown;
  /** The environment beside PATH. */
  env: Record<string, string>;
}

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

/** Runs the built handler once in a fresh Node process; its answer comes back on fd 3, apart from its logs. */
export async function runBuilt(dir: string, run: BuiltRun): Promise<BuiltExit> {
  const script = `
    const raw = process.env.TEST_EVENT;
    const form = process.env.TEST_FORM;
    const event = form === 'string' ? raw : form === 'object' ? JSON.parse(raw) : Buffer.from(raw);
    require('./index.js').handler(event, JSON.parse(process.env.TEST_CONTEXT)).then(
      (summary) => require('fs').writeSync(3, JSON.stringify({ summary })),
      (error) => { require('fs').writeSync(3, JSON.stringify({ rejected: String(error && error.message) })); process.exitCode = 1; },
    );`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      ...run.env,
      TEST_EVENT: JSON.stringify(run.event),
      TEST_FORM: run.form ?? 'buffer',
      TEST_CONTEXT: JSON.stringify(run.context),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let answer = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (answer += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  recordForSecretScan('contract bundle stdout', stdout);
  recordForSecretScan('contract bundle stderr', stderr);
  const logLines = (stdout + stderr)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...(answer ? (JSON.parse(answer) as { summary?: unknown; rejected?: string }) : {}), logLines, stdout, stderr };
}
