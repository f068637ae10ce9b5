#!/usr/bin/env node
// Copying one verified zip to three regions in parallel, beside copying it to one region alone.
//
// A 100 MiB zip of random bytes sits in the home region's OSS emulator (uncapped). Three more emulators
// stand for the staging buckets of cn-shanghai, cn-beijing and cn-shenzhen, each in its own Node process on
// its own loopback port, each behind a link capped at CAP_BYTES_PER_SECOND for everything uploaded to it
// (all its connections share the cap, as a region's link would). Each copy is `copyToRegion` through the
// ali-oss adapter: ranged GETs of the source streamed into UploadParts, the target's CRC-64 checked. Every
// run copies in a fresh Node process; one region alone and three at once alternate, medians of RUNS runs.
// Goal: three regions take about as long as one (ratio close to 1x, not 3x).
//
// The cap is low (5 MB/s) because on a shared 2-core machine the emulators' own hashing tops out near
// 17 MB/s for one copy: a faster cap would measure the CPU, not the links.
//
// The TypeScript sources are bundled into a temporary file first (scripts/bench-child.mjs).

import { fork } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerFromChild, bundleSources, median } from './bench-child.mjs';

const ZIP_BYTES = 100 * 1024 * 1024;
const KEY = 'layers/bench.zip';
const HOME = { region: 'cn-hangzhou', bucket: 'bench-layers' };
const TARGETS = [
  { region: 'cn-shanghai', bucket: 'bench-layers-sh' },
  { region: 'cn-beijing', bucket: 'bench-layers-bj' },
  { region: 'cn-shenzhen', bucket: 'bench-layers-sz' },
];
const ACCOUNT_ID = '1234567890123456';
const CREDENTIALS = { accessKeyId: 'BenchKeyId', accessKeySecret: 'bench-secret' };
// The environment knobs are for quick local runs; the defaults are what the figures in docs/regions.md use.
const CAP_BYTES_PER_SECOND = Number(process.env.BENCH_CAP_MBPS ?? 5) * 1e6;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PART_BYTES = 8 * 1024 * 1024;
const CONCURRENCY = 4;

const [role, ...args] = process.argv.slice(2);
if (role === 'server') await runServer(args[0], JSON.parse(args[1]));
else if (role === 'copy') await runCopy(args[0], JSON.parse(args[1]));
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-regions-'));
  const lib = join(dir, 'lib.cjs');
  const servers = [];
  try {
    await bundleSources(lib, [
      "export { copyToRegion } from './src/regions/copy';",
      "export { createOssStore } from './src/oss/ali-oss-store';",
      "export { createOssEmulator, serve } from './src/emulator';",
    ]);
    const start = async (region, extra) => {
      const child = fork(fileURLToPath(import.meta.url), ['server', lib, JSON.stringify({ ...region, ...extra })], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      servers.push(child);
      const answer = await new Promise((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`the ${region.region} emulator exited with ${code}`)));
      });
      return { ...region, ...answer };
    };
    const home = await start(HOME, { seed: ZIP_BYTES });
    const targets = await Promise.all(TARGETS.map((target) => start(target, { capBytesPerSecond: CAP_BYTES_PER_SECOND })));
    console.log(`zip: ${ZIP_BYTES} bytes (${ZIP_BYTES / 2 ** 20} MiB) in ${home.region}, CRC-64 ${home.crc64}`);
    console.log(
      `targets: ${targets.map((t) => t.region).join(', ')}, each an OSS emulator in its own process, ` +
        `uploads to each capped at ${CAP_BYTES_PER_SECOND / 1e6} MB/s`,
    );
    console.log(`copy: parts of ${PART_BYTES / 2 ** 20} MiB, ${CONCURRENCY} at once per region; a fresh process per run; medians of ${RUNS} runs\n`);

    const one = [];
    const three = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternating, so drift in the machine's load hits both alike.
      one.push(await copyInChild(lib, { home, targets: targets.slice(0, 1), uploadId: `one-${run}` }));
      three.push(await copyInChild(lib, { home, targets, uploadId: `three-${run}` }));
    }
    const oneMs = median(one.map((r) => r.ms));
    const threeMs = median(three.map((r) => r.ms));
    const ideal = ZIP_BYTES / CAP_BYTES_PER_SECOND;
    console.log(`  ${'copy'.padEnd(34)} ${'seconds'.padStart(8)} ${'MB/s per region'.padStart(16)} ${'peak RSS'.padStart(9)}`);
    for (const [name, rows, ms] of [
      ['one region alone (cn-shanghai)', one, oneMs],
      ['three regions in parallel', three, threeMs],
    ]) {
      console.log(
        `  ${name.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(8)} ${(ZIP_BYTES / 1e6 / (ms / 1000)).toFixed(1).padStart(16)} ` +
          `${`${median(rows.map((r) => r.peakRssMiB)).toFixed(0)} MiB`.padStart(9)}`,
      );
    }
    console.log(`\n  the link alone allows ${ideal.toFixed(2)} s per copy`);
    console.log(`  three regions / one region: ${(threeMs / oneMs).toFixed(2)}x (goal: close to 1x, not 3x)`);
  } finally {
    for (const server of servers) server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

function copyInChild(lib, job) {
  return answerFromChild(fileURLToPath(import.meta.url), ['copy', lib, JSON.stringify(job)], 'copy');
}

async function runServer(lib, { region, bucket, seed, capBytesPerSecond }) {
  const { createOssEmulator, serve } = createRequire(import.meta.url)(lib);
  const oss = createOssEmulator({ accountId: ACCOUNT_ID, region, credentials: [CREDENTIALS], buckets: [bucket], newAccount: true });
  let crc64;
  if (seed) crc64 = (await oss.putObject(bucket, KEY, randomFillSync(Buffer.alloc(seed)), { contentType: 'application/zip' })).crc64;
  const link = capBytesPerSecond ? cappedLink(capBytesPerSecond) : undefined;
  const server = await serve(link ? (request) => oss.handle(link(request)) : oss.handle);
  process.send({ endpoint: server.url, crc64 });
  process.on('disconnect', () => process.exit(0));
}

/**
 * Paces every request body that crosses the link to `bytesPerSecond` in all: one schedule shared by
 * all connections, so parallel parts to one region share its bandwidth as they would over a WAN.
 */
function cappedLink(bytesPerSecond) {
  let nextFree = performance.now();
  return (request) => {
    if (request.body === null) return request;
    const reader = request.body.getReader();
    const paced = new ReadableStream(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          const due = Math.max(performance.now(), nextFree);
          nextFree = due + (value.byteLength / bytesPerSecond) * 1000;
          const wait = nextFree - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return new Request(request.url, { method: request.method, headers: request.headers, body: paced, duplex: 'half' });
  };
}

async function runCopy(lib, { home, targets, uploadId }) {
  const { copyToRegion, createOssStore } = createRequire(import.meta.url)(lib);
  const store = ({ bucket, region, endpoint }) =>
    createOssStore({ bucket, region, endpoint: new URL(endpoint), credentials: CREDENTIALS, timeoutMs: 600_000 });
  const source = store(home);
  const head = await source.head(KEY);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const startedAt = performance.now();
  const copies = await Promise.all(
    targets.map((target) =>
      copyToRegion({ store: source, key: KEY, head, crc64: home.crc64 }, { region: target.region, store: store(target) }, {
        uploadId,
        auditPrefix: '_audit/',
        partBytes: PART_BYTES,
        concurrency: CONCURRENCY,
      }),
    ),
  );
  const ms = performance.now() - startedAt;
  clearInterval(sampler);
  for (const copy of copies) {
    if (copy.crc64 !== home.crc64 || copy.reused) throw new Error(`copy to ${copy.region}: ${JSON.stringify(copy)}`);
  }
  process.send({ ms, peakRssMiB: peak / 2 ** 20 });
  process.disconnect();
}
