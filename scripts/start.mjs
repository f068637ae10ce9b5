// `npm start`: answers --help at once, from src/local/help.txt; otherwise builds the bundles, their
// lines on stderr so that with --json every line on stdout is JSON, then runs the local stack
// (dist/local.js) in this process, with these arguments.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);

if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(readFileSync(new URL('../src/local/help.txt', import.meta.url)));
} else {
  for (const script of ['scripts/build.mjs', 'scripts/build-tools.mjs']) {
    const { status } = spawnSync(process.execPath, [script], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
    if (status !== 0) {
      process.stderr.write(`npm start: ${script} failed (exit ${status}); see above\n`);
      process.exit(status ?? 1);
    }
  }
  createRequire(import.meta.url)('../dist/local.js');
}
