import { type ChildProcess, spawn } from 'node:child_process';
import { testContext } from './cloud';

/** What a bundled handler run in a child process ended with. */
export interface BundleExit {
  /** What the handler wrote on fd 3: its summary, or the message it rejected with (undefined if it wrote nothing). */
  answer: { summary?: unknown; rejected?: string } | undefined;
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BundleProcess {
  child: ChildProcess;
  done: Promise<BundleExit>;
}

export interface BundleRun {
  /** The folder holding the bundle as `index.js`. */
  dir: string;
  cloud: { ossEndpoint: string; fcEndpoint: string };
  events: unknown[];
  requestId: string;
  /** The function timeout the context gives the handler. */
  timeoutSeconds: number;
}

/** How the event reaches the handler: FC's Buffer, or the string and object docs/contract.md §1 also accepts. */
export type EventForm = 'buffer' | 'string' | 'object';

export interface HandlerRun {
  /** The whole event, as the handler gets it once decoded from `form`. */
  event: unknown;
  form?: EventForm;
  /** The whole context, as given. */
  context: unknown;
  /** The environment beside PATH; nothing else is inherited. */
  env: Record<string, string>;
}

/**
 * Runs the bundled handler (`index.js` in `dir`) in a fresh Node process as Function Compute would.
 * The handler's answer comes back on fd 3, apart from its log lines on stdout.
 */
export function spawnHandler(dir: string, run: HandlerRun): BundleProcess {
  const script = `
    const raw = process.env.TEST_EVENT;
    const form = process.env.TEST_FORM;
    const event = form === 'string' ? raw : form === 'object' ? JSON.parse(raw) : Buffer.from(raw);
    const { handler } = require('./index.js');
    handler(event, JSON.parse(process.env.TEST_CONTEXT)).then(
      (summary) => require('fs').writeSync(3, JSON.stringify({ summary })),
      (error) => { require('fs').writeSync(3, JSON.stringify({ rejected: String(error && error.message) })); process.exitCode = 1; },
    );`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
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
  const done = new Promise<BundleExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ answer: answer ? JSON.parse(answer) : undefined, stdout, stderr, code, signal }));
  });
  return { child, done };
}

/** The bundled handler given a Buffer of the events and the test account's context, the endpoints from the environment. */
export function spawnBundle({ dir, cloud, events, requestId, timeoutSeconds }: BundleRun): BundleProcess {
  return spawnHandler(dir, {
    event: { events },
    context: { ...testContext(requestId), function: { timeout: timeoutSeconds } },
    env: { OSS_ENDPOINT: cloud.ossEndpoint, FC_ENDPOINT: cloud.fcEndpoint },
  });
}
