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
 * Writes, into `dir`, a script for `node --require` that wraps `v8.setFlagsFromString`: each call is
 * appended to a file, then passed on, so the flag still takes effect.
 */
export async function v8FlagRecorder(dir: string): Promise<V8FlagRecorder> {
  const script = join(dir, 'record-v8-flags.cjs');
  const log = join(dir, 'v8-flags.log');
  await writeFile(log, '');
  await writeFile(
    script,
    `const v8 = require('node:v8');
const { appendFileSync } = require('node:fs');
const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  appendFileSync(${JSON.stringify(log)}, flags + '\\n');
  return set(flags);
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
