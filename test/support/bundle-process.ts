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

/**
 * Runs the bundled handler (`index.js` in `dir`) in a fresh Node process as Function Compute would:
 * a Buffer of the events and a context, the endpoints from the environment, nothing else inherited
 * but PATH. The handler's answer comes back on fd 3, apart from its log lines on stdout.
 */
export function spawnBundle({ dir, cloud, events, requestId, timeoutSeconds }: BundleRun): BundleProcess {
  const script = `
    const { handler } = require('./index.js');
    handler(Buffer.from(process.env.TEST_EVENT), JSON.parse(process.env.TEST_CONTEXT)).then(
      (summary) => require('fs').writeSync(3, JSON.stringify({ summary })),
      (error) => { require('fs').writeSync(3, JSON.stringify({ rejected: String(error && error.message) })); process.exitCode = 1; },
    );`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      OSS_ENDPOINT: cloud.ossEndpoint,
      FC_ENDPOINT: cloud.fcEndpoint,
      TEST_EVENT: JSON.stringify({ events }),
      TEST_CONTEXT: JSON.stringify({ ...testContext(requestId), function: { timeout: timeoutSeconds } }),
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
