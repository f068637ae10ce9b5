// What the benchmarks share: bundling the sources they measure, running a measured step in a fresh process.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Bundles `exportLines` (re-exports from ./src) into one CommonJS file, so the numbers are always for
 * the code in src/, not for a stale build.
 */
export async function bundleSources(outfile, exportLines) {
  const { build } = await import('esbuild');
  await build({
    stdin: { contents: exportLines.join('\n'), resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    // As in scripts/build.mjs: urllib requires it only behind a proxy.
    external: ['proxy-agent'],
    logLevel: 'warning',
  });
}

/** Forks `script` with `args`; resolves the one message it sends before exiting 0. */
export function answerOfChild(script, args) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer;
    child.once('message', (message) => (answer = message));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && answer ? resolve(answer) : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
