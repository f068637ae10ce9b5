#!/usr/bin/env node
// Cold start of the function: how long a fresh Node process takes to `require` dist/index.js, beside the
// same SDKs loaded unbundled from node_modules (ali-oss, @alicloud/fc2/lib/client.js,
// @alicloud/openapi-util, zod/mini, what the sources import), and what the first invocation then pays to
// initialise the modules the bundle defers, for three first events: one whose record is ignored (a
// deletion), a malformed one (no records), and a real publish against the local OSS and FC (the
// emulators, served on loopback by this process). Medians of fresh processes, timed inside each process
// so Node's own boot is left out; a publish's time is mostly its requests, so its initialisation is
// printed as the difference from a second publish in the same process. Then the bundle's size and its
// heaviest inputs from esbuild's metafile (dist/meta.json), beside the size of the alternatives for
// signing FC calls: Alibaba's official SDK clients bundled in, and openapi-util without the
// tea stubs.
//
// Runs `npm run build` first, so the figures are for the code in src/.

import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSources, median } from './bench-child.mjs';

const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 15);
const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/index.js`;

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

// The local cloud, in this process: the children below publish to it over loopback.
const work = await new Promise((resolve, reject) => mkdtemp(join(tmpdir(), 'bench-coldstart-'), (error, dir) => (error ? reject(error) : resolve(dir))));
const lib = join(work, 'cloud.cjs');
await bundleSources(lib, [
  "export { createOssEmulator, createFcEmulator, serve } from './src/emulator';",
  "export { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from './src/console/local-account';",
  "export { makeZip } from './test/support/layers';",
]);
const { createOssEmulator, createFcEmulator, serve, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, makeZip } = createRequire(import.meta.url)(lib);
const BUCKET = 'bench-layers';
const account = { accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS] };
const oss = createOssEmulator({ ...account, buckets: [BUCKET] });
const fc = createFcEmulator({ ...account, readObject: (bucket, key) => oss.readObject(bucket, key) });
const servers = await Promise.all([serve(oss.handle, { port: 0, host: '127.0.0.1' }), serve(fc.handle, { port: 0, host: '127.0.0.1' })]);
const [ossServer, fcServer] = servers;
const context = { requestId: 'bench', region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID, credentials: { ...LOCAL_CREDENTIALS } };

/** A new layer zip and manifest in the local bucket, and the event of its zip: a publish from scratch. */
let layers = 0;
async function layerEvent() {
  const name = `bench-${++layers}`;
  await oss.putObject(BUCKET, `layers/${name}.layer.json`, Buffer.from(JSON.stringify({ layerName: name, compatibleRuntime: ['nodejs20'] })));
  await oss.putObject(
    BUCKET,
    `layers/${name}.zip`,
    makeZip({ 'nodejs/node_modules/bench/package.json': JSON.stringify({ name: 'bench', version: String(layers) }) }),
  );
  return { events: [await oss.objectCreatedEvent(BUCKET, `layers/${name}.zip`)] };
}

/** Runs `body` in a fresh process; `mark('name')` records milliseconds since the process began timing. */
function timeInFreshProcess(body, env = {}) {
  const script = `
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const marks = {};
    const mark = (name) => {
      marks[name] = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      marks[name + 'Cpu'] = (cpu.user + cpu.system) / 1e3;
    };
    (async () => { ${body} })().then(() => require('fs').writeSync(3, JSON.stringify(marks)));`;
  // The handler logs JSON lines on stdout: the figures come back on fd 3. Not spawnSync: this process serves the cloud.
  const child = spawn(process.execPath, ['-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH, OSS_ENDPOINT: ossServer.url, FC_ENDPOINT: fcServer.url, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let answer = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdio[3].on('data', (chunk) => (answer += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 && answer ? resolve(JSON.parse(answer)) : reject(new Error(`fresh process failed (${code}): ${stderr}`)))),
  );
}

const invoke = (event) => `await handler(Buffer.from(${JSON.stringify(JSON.stringify(event))}), ${JSON.stringify(context)}).catch(() => undefined)`;
const requireBundle = `const { handler } = require(${JSON.stringify(bundle)}); mark('load');`;
// A deletion of a zip: ignored by its event name, before any request (docs/contract.md §3).
const IGNORED = {
  events: [
    {
      eventName: 'ObjectRemoved:DeleteObject',
      eventTime: new Date(0).toISOString(),
      region: LOCAL_REGION,
      oss: { bucket: { name: BUCKET }, object: { key: 'layers/gone.zip', eTag: '"0"', size: 1 } },
    },
  ],
};

const cases = [
  ['ignored', async () => `${requireBundle} ${invoke(IGNORED)}; mark('first')`],
  ['malformed', async () => `${requireBundle} ${invoke({})}; mark('first')`],
  ['publish', async () => `${requireBundle} ${invoke(await layerEvent())}; mark('first'); ${invoke(await layerEvent())}; mark('second')`],
  [
    'unbundled',
    async () =>
      `${['ali-oss', '@alicloud/fc2/lib/client.js', '@alicloud/openapi-util', 'zod/mini'].map((name) => `require(${JSON.stringify(name)})`).join(';')}; mark('load')`,
  ],
];

const samples = new Map(cases.map(([name]) => [name, []]));
const loadBefore = loadavg()[0];
try {
  // Interleaved, so drift in the machine's load hits all alike.
  for (let run = 0; run < PROCESSES; run++) {
    for (const [name, body] of cases) samples.get(name).push(await timeInFreshProcess(await body()));
  }
} finally {
  await Promise.all(servers.map((server) => server.close()));
  rmSync(work, { recursive: true, force: true });
}

const describe = (values) => `${median(values).toFixed(1).padStart(6)} ms  (${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)})`;
const of = (name, pick) => samples.get(name).map(pick);
/** Wall time, then CPU time (user + system): on a machine shared with other work the CPU time is the steadier figure. */
const row = (label, name, wall, cpu) => console.log(`  ${label.padEnd(62)} ${describe(of(name, wall))}   ${cpuOf(of(name, cpu))}`);
const ofLoads = (pick) => ['ignored', 'malformed', 'publish'].flatMap((name) => of(name, pick));
const loads = ofLoads((m) => m.load);
const unbundled = of('unbundled', (m) => m.load);
const cpuOf = (values) => `cpu ${median(values).toFixed(1).padStart(6)} ms`;
console.log(
  `in ${PROCESSES} fresh Node ${process.version} processes per case: median (min-max); load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
);
console.log(`  require() dist/index.js, bundled                               ${describe(loads)}   ${cpuOf(ofLoads((m) => m.loadCpu))}`);
console.log(`  require() ali-oss + fc2 + openapi-util + zod/mini, unbundled  ${describe(unbundled)}   ${cpuOf(of('unbundled', (m) => m.loadCpu))}`);
console.log(`  bundled / unbundled: ${(median(loads) / median(unbundled)).toFixed(2)}`);
console.log('first invocation (after the require):');
row(
  'an ignored record (a deletion)',
  'ignored',
  (m) => m.first - m.load,
  (m) => m.firstCpu - m.loadCpu,
);
row(
  'a malformed event (no records)',
  'malformed',
  (m) => m.first - m.load,
  (m) => m.firstCpu - m.loadCpu,
);
row(
  'a publish to the local OSS and FC',
  'publish',
  (m) => m.first - m.load,
  (m) => m.firstCpu - m.loadCpu,
);
row(
  'the same publish again, in the same process',
  'publish',
  (m) => m.second - m.first,
  (m) => m.secondCpu - m.firstCpu,
);
row(
  "the first publish's initialisation (first - second)",
  'publish',
  (m) => m.first - m.load - (m.second - m.first),
  (m) => m.firstCpu - m.loadCpu - (m.secondCpu - m.firstCpu),
);
console.log('together:');
row(
  'require() + first ignored invocation',
  'ignored',
  (m) => m.first,
  (m) => m.firstCpu,
);
row(
  'require() + first malformed invocation',
  'malformed',
  (m) => m.first,
  (m) => m.firstCpu,
);
console.log('');

const meta = JSON.parse(readFileSync(`${root}dist/meta.json`, 'utf8'));
const deferred = meta.outputs['dist/index.js (deferred SDKs, before compression)'];
console.log(
  `dist/index.js: ${statSync(bundle).size.toLocaleString('en')} bytes (${(statSync(bundle).size / 1e6).toFixed(3)} MB), ` +
    `of which the SDKs it parses only at the first request, ${deferred.bytes.toLocaleString('en')} bytes before compression`,
);
const byPackage = new Map();
for (const [path, { bytesInOutput }] of Object.values(meta.outputs).flatMap((output) => Object.entries(output.inputs))) {
  const name =
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.replace(/.*node_modules\/(?=(@[^/]+\/)?[^/]+\/)/, 'node_modules/'))?.[1] ??
    path.replace(/^src\/([^/]+)\/.*/, 'src/$1/').replace(/^deferred-sdks:.*/, 'the SDKs, compressed (scripts/build.mjs)');
  byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
}
const total = Object.values(meta.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log('heaviest inputs (minified bytes, by package, the SDKs before compression):');
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`  ${name.padEnd(40)} ${bytes.toLocaleString('en').padStart(9)}  ${((bytes / total) * 100).toFixed(1).padStart(5)}%`);
}

// The same build (scripts/build.mjs's stubs and settings) with other ways of signing FC calls pulled in.
const { STUBBED, stubPlugin } = await import('./build.mjs');
const { '@alicloud/tea-typescript': _teaTypescript, '@alicloud/tea-util': _teaUtil, ...withoutTeaStubs } = STUBBED;
const alternatives = [
  ['official SDK clients (fc-open20210406 + fc20230330) at run time', "require('@alicloud/fc-open20210406'); require('@alicloud/fc20230330');", STUBBED],
  ['openapi-util without the tea stubs', '', withoutTeaStubs],
];
console.log(`\nalternatives (the function bundled with them, minified; beside its ${(total / 1e6).toFixed(3)} MB before compression):`);
for (const [name, extra, stubs] of alternatives) {
  const result = await build({
    stdin: { contents: `require('./src/index.ts'); ${extra}`, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    external: ['proxy-agent'],
    plugins: [stubPlugin(stubs)],
    logLevel: 'error',
  });
  const bytes = result.outputFiles[0].contents.byteLength;
  console.log(`  ${name.padEnd(66)} ${(bytes / 1e6).toFixed(3)} MB  (${(bytes / total).toFixed(2)}x)`);
}
