#!/usr/bin/env node
// Cold start of the function: how long a fresh Node process takes to `require` dist/index.js, beside the
// same SDKs loaded unbundled from node_modules (ali-oss, @alicloud/fc2/lib/client.js,
// @alicloud/openapi-util, zod/mini, what the sources import), and what the first invocation then pays to
// initialise the modules the bundle defers. Medians of fresh processes, timed inside each process so Node's
// own boot is left out. Then the bundle's size and its heaviest inputs from esbuild's metafile
// (dist/meta.json), beside the size of the alternatives for signing FC calls (issue 8): Alibaba's official
// SDK clients bundled in, and openapi-util without the tea stubs.
//
// Runs `npm run build` first, so the figures are for the code in src/.

import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './bench-child.mjs';

const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 15);
const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/index.js`;

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

/** Runs `body` in a fresh process; `mark('name')` records milliseconds since the process began timing. */
function timeInFreshProcess(body) {
  const script = `
    const t0 = process.hrtime.bigint();
    const marks = {};
    const mark = (name) => { marks[name] = Number(process.hrtime.bigint() - t0) / 1e6; };
    (async () => { ${body} })().then(() => require('fs').writeSync(3, JSON.stringify(marks)));`;
  // The handler logs JSON lines on stdout: the figures come back on fd 3.
  const child = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  if (child.status !== 0) throw new Error(`fresh process failed: ${child.stderr}`);
  return JSON.parse(child.output[3]);
}

// An event with no records: the handler rejects it at once, so the time after load is module initialisation.
const FIRST_INVOCATION = `await handler(Buffer.from('{}'), { requestId: 'bench' }).catch(() => undefined)`;

const cases = [
  [
    'dist/index.js, bundled',
    `const { handler } = require(${JSON.stringify(bundle)}); mark('load'); ${FIRST_INVOCATION}; mark('first')`,
  ],
  [
    'ali-oss + fc2 + openapi-util + zod/mini, unbundled',
    `${['ali-oss', '@alicloud/fc2/lib/client.js', '@alicloud/openapi-util', 'zod/mini'].map((name) => `require(${JSON.stringify(name)})`).join(';')}; mark('load')`,
  ],
];

const samples = new Map(cases.map(([name]) => [name, []]));
// Interleaved, so drift in the machine's load hits both alike.
for (let run = 0; run < PROCESSES; run++) {
  for (const [name, body] of cases) samples.get(name).push(timeInFreshProcess(body));
}


const describe = (values) =>
  `${median(values).toFixed(1).padStart(6)} ms  (${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)})`;
const loads = cases.map(([name]) => samples.get(name).map((marks) => marks.load));
console.log(`in ${PROCESSES} fresh Node ${process.version} processes each: median (min-max)`);
cases.forEach(([name], index) => console.log(`  require() ${name.padEnd(50)} ${describe(loads[index])}`));
console.log(`  bundled / unbundled: ${(median(loads[0]) / median(loads[1])).toFixed(2)}`);
const firsts = samples.get(cases[0][0]).map((marks) => marks.first);
console.log(`  require() + first invocation (module init), bundled           ${describe(firsts)}\n`);

const meta = JSON.parse(readFileSync(`${root}dist/meta.json`, 'utf8'));
const output = meta.outputs['dist/index.js'];
console.log(`dist/index.js: ${statSync(bundle).size.toLocaleString('en')} bytes (${(statSync(bundle).size / 1e6).toFixed(3)} MB)`);
const byPackage = new Map();
for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.replace(/.*node_modules\/(?=(@[^/]+\/)?[^/]+\/)/, 'node_modules/'))?.[1] ?? path.replace(/^src\/([^/]+)\/.*/, 'src/$1/');
  byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
}
console.log('heaviest inputs (bytes in the output, by package):');
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`  ${name.padEnd(40)} ${bytes.toLocaleString('en').padStart(9)}  ${((bytes / output.bytes) * 100).toFixed(1).padStart(5)}%`);
}

// The same build (scripts/build.mjs's stubs and settings) with other ways of signing FC calls pulled in.
const { STUBBED, stubPlugin } = await import('./build.mjs');
const { '@alicloud/tea-typescript': _teaTypescript, '@alicloud/tea-util': _teaUtil, ...withoutTeaStubs } = STUBBED;
const alternatives = [
  ['official SDK clients (fc-open20210406 + fc20230330) at run time', "require('@alicloud/fc-open20210406'); require('@alicloud/fc20230330');", STUBBED],
  ['openapi-util without the tea stubs', '', withoutTeaStubs],
];
console.log('\nalternatives (the function bundled with them, minified):');
for (const [name, extra, stubs] of alternatives) {
  const result = await build({
    stdin: { contents: `require('./src/index.ts'); ${extra}`, resolveDir: root, loader: 'js' },
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, legalComments: 'none',
    write: false, external: ['proxy-agent'], plugins: [stubPlugin(stubs)], logLevel: 'error',
  });
  const bytes = result.outputFiles[0].contents.byteLength;
  console.log(`  ${name.padEnd(66)} ${(bytes / 1e6).toFixed(3)} MB  (${(bytes / statSync(bundle).size).toFixed(2)}x dist/index.js)`);
}
