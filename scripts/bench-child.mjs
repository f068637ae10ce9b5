// What the benchmarks share: the sources they measure, bundled fresh, and runs in child processes
// (each with its own peak RSS) that answer with one message, and the CPU time of the local OSS serving them.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Bundles `exportLines` (`export { x } from './src/...'`, relative to the repository) into one CommonJS file. */
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

/** Runs `script` with `args` in a fresh Node process; resolves with the one message it sends, once it exits 0. */
export function answerFromChild(script, args, what) {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer;
    child.once('message', (message) => (answer = message));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && answer ? resolve(answer) : reject(new Error(`${what} exited with ${code}`))));
  });
}

/** A server child's own CPU time so far (user + system, ms), asked over its IPC channel (see answerCpuRequests). */
export function askCpuMs(child) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send('cpu');
  });
}

/** In a server child: answers each message from the parent with this process's CPU time so far, in ms. */
export function answerCpuRequests() {
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send((user + system) / 1e3);
  });
}

/** The middle sample (the mean of the two middle ones for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
