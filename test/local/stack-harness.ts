import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import type { InvocationOutcome } from '../../src/local/invoker';
import { planRegions } from '../../src/local/regions';
import { type LocalStack, type StackEvent, startLocalStack } from '../../src/local/stack';
import type { PublishResult } from '../../src/publish/result';
import { EXAMPLES_DIR, HANDLER_BUNDLE, HOST_SCRIPT, REPO } from './bundles';

export const LOCAL_BUCKET = 'local-layers';

export interface Running {
  stack: LocalStack;
  dataDir: string;
  events: StackEvent[];
  outcomes: InvocationOutcome[];
}

export interface MoreOptions {
  /** `--regions`. */
  regions?: readonly string[];
  /** Variables of the shell npm start runs in, for the handler (FC_API_VERSION, ROLLOUT_FUNCTIONS…). */
  handlerEnv?: Record<string, string>;
  /** Sees every event as it happens, before the test's own list gets it. */
  onEvent?: (event: StackEvent) => void;
}

export interface LocalStacks {
  /** A local stack as `npm start` runs it, on free ports, in `dataDir` (a fresh folder by default). */
  start(dataDir?: string, settleMs?: number, more?: MoreOptions): Promise<Running>;
  /** Closes a stack before the test ends, keeping its data folder (for a restart on it). */
  release(run: Running): Promise<void>;
}

/** Call at the top of a test file: every stack started is closed, and its folder removed, after each test. */
export function useLocalStacks(): LocalStacks {
  const running: Running[] = [];
  afterEach(async () => {
    for (const { stack, dataDir } of running.splice(0)) {
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
  return {
    async start(dataDir, settleMs = 200, { regions = [], handlerEnv, onEvent }: MoreOptions = {}) {
      const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'local-stack-')));
      const events: StackEvent[] = [];
      const outcomes: InvocationOutcome[] = [];
      const stack = await startLocalStack({
        dataDir: dir,
        bucket: LOCAL_BUCKET,
        ossPort: 0,
        fcPort: 0,
        regions: planRegions(regions, { bucket: LOCAL_BUCKET, dataDir: dir, ossPort: 0 }),
        redeliveryDelayMs: 100,
        ...(handlerEnv === undefined ? {} : { handlerEnv }),
        handlerBundle: HANDLER_BUNDLE,
        hostScript: HOST_SCRIPT,
        examplesDir: EXAMPLES_DIR,
        settleMs,
        onEvent: (event) => {
          onEvent?.(event);
          events.push(event);
          if (event.kind === 'outcome') outcomes.push(event.outcome);
        },
      });
      const run = { stack, dataDir: dir, events, outcomes };
      running.push(run);
      return run;
    },
    async release(run) {
      running.splice(running.indexOf(run), 1);
      await run.stack.close();
    },
  };
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Waits for the handler to write a result that is not `waiting` (no time is asserted). */
export async function settledResult(path: string): Promise<PublishResult> {
  for (;;) {
    const result = await readJson<PublishResult>(path).catch(() => undefined);
    if (result !== undefined && result.status !== 'waiting') return result;
    await sleep(100);
  }
}

/** `npm start -- <args>` as the person runs it: the built dist/local.js in its own process. */
export function npmStart(args: string[], env: Record<string, string> = {}, closeStdout = false): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'dist', 'local.js'), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    // As `| head` does once it has read enough: every later write meets a closed pipe (EPIPE).
    if (closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
