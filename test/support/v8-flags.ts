import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Which V8 flags a process sets at run time (src/heap.ts), seen from outside the bundle that sets them. */
export interface V8FlagRecorder {
  /** Node options that load the recorder into a child process: `node ...args script`. */
  readonly args: readonly string[];
  /** Every `v8.setFlagsFromString` argument passed since the last take, in order, by every child run with `args`. */
  take(): Promise<string[]>;
}

/**
 * Writes, into `dir`, a script for `node --require` that wraps `v8.setFlagsFromString` once the child
 * requires node:v8 (through Module._load, so node:v8 stays unloaded until then): each call is appended
 * to a file, then passed on, so the flag still takes effect.
 */
export async function v8FlagRecorder(dir: string): Promise<V8FlagRecorder> {
  const script = join(dir, 'record-v8-flags.cjs');
  const log = join(dir, 'v8-flags.log');
  await writeFile(log, '');
  await writeFile(
    script,
    `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
const wrapped = new WeakSet();
Module._load = function (request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  if ((request === 'node:v8' || request === 'v8') && !wrapped.has(loaded)) {
    wrapped.add(loaded);
    const set = loaded.setFlagsFromString;
    loaded.setFlagsFromString = (flags) => {
      appendFileSync(${JSON.stringify(log)}, flags + '\\n');
      return set(flags);
    };
  }
  return loaded;
};
`,
  );
  return {
    args: ['--require', script],
    take: async () => {
      const flags = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
      await truncate(log);
      return flags;
    },
  };
}
