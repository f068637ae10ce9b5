#!/usr/bin/env node
// One 100 MiB layer published to three regions (home + 2) by the whole publisher, beside the same
// layer published in the home region alone, in the same run.
//
// The publisher is the built bundle, dist/index.js (this script runs scripts/build.mjs first), invoked
// in a fresh Node process per run as Function Compute would: an OSS event for the zip, a context with
// the account, region and credentials, and the environment OSS_ENDPOINT / FC_ENDPOINT, plus REGIONS,
// REGION_OSS_ENDPOINTS and REGION_FC_ENDPOINTS for three regions. Each region (home included) is one
// Node process holding its OSS emulator and its FC emulator (which reads the code from that OSS, as FC
// reads it inside the region), each on its own loopback port. Every byte between the publisher and a
// region's OSS crosses that region's link, capped at CAP_BYTES_PER_SECOND each way, all connections
// sharing the cap as they would share a WAN link. So the home link carries the zip's verification read
// (and, with REGIONS, the copies' reads of it); each other region's link carries its staged copy. The
// bench counts the bytes over each link and prints them as passes over the zip.
//
// Each run writes a manifest with a new layer name beside the one zip, so every run is a new upload
// that publishes a new version everywhere; the result must say `published` in every region with the
// zip's CRC-64 as codeChecksum, or the bench stops. Home alone, three regions and (the peer of earlier
// sessions, docs/regions.md) one bare `copyToRegion` alternate; medians of RUNS runs; peak RSS is the
// publishing (or copying) process's.
//
// The cap is low (5 MB/s) because on a shared 2-core machine the emulators' own hashing tops out near
// 17 MB/s for one copy: a faster cap would measure the CPU, not the links.

import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerFromChild, bundleSources, median } from './bench-child.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const ZIP_BYTES = Number(process.env.BENCH_MIB ?? 100) * 1024 * 1024;
const ZIP_KEY = 'layers/bench.zip';
const MANIFEST_KEY = 'layers/bench.layer.json';
const RESULT_KEY = 'layers/bench.result.json';
const HOME = { region: 'cn-hangzhou', bucket: 'bench-layers' };
const OTHERS = [
  { region: 'cn-shanghai', bucket: 'bench-layers-sh' },
  { region: 'cn-beijing', bucket: 'bench-layers-bj' },
];
const ACCOUNT_ID = '1234567890123456';
const CREDENTIALS = { accessKeyId: 'BenchKeyId', accessKeySecret: 'bench-secret' };
// The environment knobs are for quick local runs; the figures reported are from the defaults.
const CAP_BYTES_PER_SECOND = Number(process.env.BENCH_CAP_MBPS ?? 5) * 1e6;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WITH_COPY = process.env.BENCH_COPY !== '0';

const [role, ...args] = process.argv.slice(2);
if (role === 'region') await runRegion(args[0], JSON.parse(args[1]));
else if (role === 'publish') await runPublish(JSON.parse(args[0]));
else if (role === 'copy') await runCopy(args[0], JSON.parse(args[1]));
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-regions-'));
  const lib = join(dir, 'lib.cjs');
  const regions = [];
  try {
    // The bundle measured is the one deployed, built from src/ now, not a stale dist/.
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
    await bundleSources(lib, [
      "export { copyToRegion } from './src/regions/copy';",
      "export { createOssStore } from './src/oss/ali-oss-store';",
      "export { createFcEmulator, createOssEmulator, serve } from './src/emulator';",
      "export { writeStoredZip } from './test/local/stored-zip';",
    ]);
    const zipPath = join(dir, 'bench.zip');
    await createRequire(import.meta.url)(lib).writeStoredZip(zipPath, 'python/bench/data.bin', ZIP_BYTES - 136);

    const home = await startRegion(lib, { ...HOME, zipPath }, regions);
    const others = await Promise.all(OTHERS.map((other) => startRegion(lib, other, regions)));
    console.log(`zip: ${ZIP_BYTES} bytes (${ZIP_BYTES / 2 ** 20} MiB), one stored entry, in ${home.region}; CRC-64 ${home.zip.crc64}`);
    console.log(
      `regions: ${[home, ...others].map((r) => r.region).join(', ')}, each an OSS and an FC emulator in its own process, ` +
        `its OSS link capped at ${CAP_BYTES_PER_SECOND / 1e6} MB/s each way`,
    );
    console.log(`publisher: dist/index.js in a fresh process per run; medians of ${RUNS} runs, alternating\n`);

    const modes = [
      { name: 'home region alone (no REGIONS)', others: [] },
      { name: `three regions (home + ${others.length})`, others },
    ];
    const samples = new Map(modes.map((mode) => [mode.name, []]));
    const copies = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternating, so drift in the machine's load hits both alike.
      for (const mode of modes) samples.get(mode.name).push(await publishOnce(home, mode.others, `bench-${mode.others.length}-${run}`));
      if (WITH_COPY) copies.push(await copyInChild(lib, { home, target: others[0], uploadId: `copy-${run}` }));
    }

    const row = (name, rows) => {
      const ms = median(rows.map((r) => r.ms));
      console.log(
        `  ${name.padEnd(36)} ${(ms / 1000).toFixed(2).padStart(8)} ${(ZIP_BYTES / 1e6 / (ms / 1000)).toFixed(1).padStart(6)} ` +
          `${`${median(rows.map((r) => r.peakRssMiB)).toFixed(0)} MiB`.padStart(9)}`,
      );
      return ms;
    };
    console.log(`  ${`publish of the ${ZIP_BYTES / 2 ** 20} MiB zip`.padEnd(36)} ${'seconds'.padStart(8)} ${'MB/s'.padStart(6)} ${'peak RSS'.padStart(9)}`);
    const [homeMs, threeMs] = modes.map((mode) => row(mode.name, samples.get(mode.name)));
    if (WITH_COPY) row(`copyToRegion alone (${others[0].region})`, copies);
    // How many times the zip crossed each link: the home link carries the verification and every copy's read.
    console.log('\n  the zip crossed each link (median passes per publish, both directions):');
    for (const mode of modes) {
      const rows = samples.get(mode.name);
      const passes = Object.keys(rows[0].passes).map((region) => `${region} ${median(rows.map((r) => r.passes[region])).toFixed(2)}`);
      console.log(`    ${mode.name.padEnd(34)} ${passes.join(', ')}`);
    }
    console.log(`\n  one link alone allows ${(ZIP_BYTES / CAP_BYTES_PER_SECOND).toFixed(2)} s per pass over the zip`);
    console.log(`  three regions / home alone: ${(threeMs / homeMs).toFixed(2)}x (goal: close to 1x, not 3x)`);
  } finally {
    for (const region of regions) region.child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A region's process; resolves once its emulators listen, with their endpoints (and the zip, at home). */
async function startRegion(lib, region, started) {
  const child = fork(fileURLToPath(import.meta.url), ['region', lib, JSON.stringify({ ...region, capBytesPerSecond: CAP_BYTES_PER_SECOND })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  child.on('message', (message) => {
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  started.push({ child });
  const ask = (request) =>
    new Promise((resolve, reject) => {
      const id = randomUUID();
      pending.set(id, (answer) => (answer.error ? reject(new Error(`${region.region}: ${answer.error}`)) : resolve(answer)));
      child.send({ ...request, id });
    });
  const ready = await new Promise((resolve, reject) => {
    pending.set('ready', resolve);
    child.once('exit', (code) => reject(new Error(`the ${region.region} region exited with ${code}`)));
  });
  return { ...region, ...ready, ask };
}

/** One upload (a new manifest beside the zip), published by the bundle in a fresh process, its result checked. */
async function publishOnce(home, others, layerName) {
  const regions = [home, ...others];
  const { manifestEtag } = await home.ask({ op: 'put', key: MANIFEST_KEY, text: JSON.stringify({ layerName, compatibleRuntime: ['python3.10'] }) });
  const env = {
    OSS_ENDPOINT: home.ossEndpoint,
    FC_ENDPOINT: home.fcEndpoint,
    ...(others.length === 0
      ? {}
      : {
          REGIONS: others.map((o) => `${o.region}=${o.bucket}`).join(','),
          REGION_OSS_ENDPOINTS: others.map((o) => `${o.region}=${o.ossEndpoint}`).join(','),
          REGION_FC_ENDPOINTS: others.map((o) => `${o.region}=${o.fcEndpoint}`).join(','),
        }),
  };
  const event = {
    events: [
      {
        eventName: 'ObjectCreated:PutObject',
        eventSource: 'acs:oss',
        eventTime: new Date().toISOString(),
        region: home.region,
        oss: {
          bucket: { name: home.bucket, arn: `acs:oss:${home.region}:${ACCOUNT_ID}:${home.bucket}`, ownerIdentity: ACCOUNT_ID },
          object: { key: ZIP_KEY, eTag: home.zip.etag.replaceAll('"', ''), size: home.zip.size, deltaSize: home.zip.size },
        },
      },
    ],
  };
  // What crossed each link during this publish alone.
  await Promise.all(regions.map((region) => region.ask({ op: 'traffic' })));
  const answer = await answerFromChild(fileURLToPath(import.meta.url), ['publish', JSON.stringify({ env, event, layerName })], `publish of ${layerName}`);
  const { text } = await home.ask({ op: 'get', key: RESULT_KEY });
  const result = JSON.parse(text);
  const where = { [home.region]: result, ...result.regions };
  for (const region of [home.region, ...others.map((o) => o.region)]) {
    const entry = where[region];
    if (entry?.status !== 'published' || (region !== home.region && entry.codeChecksum !== home.zip.crc64) || result.layerName !== layerName) {
      throw new Error(`${layerName} (manifest ${manifestEtag}) not published in ${region} as expected: ${text}`);
    }
  }
  const traffic = await Promise.all(regions.map((region) => region.ask({ op: 'traffic' })));
  return { ...answer, passes: Object.fromEntries(regions.map((region, i) => [region.region, (traffic[i].inbound + traffic[i].outbound) / ZIP_BYTES])) };
}

async function runRegion(lib, { region, bucket, zipPath, capBytesPerSecond }) {
  const { createFcEmulator, createOssEmulator, serve } = createRequire(import.meta.url)(lib);
  const account = { accountId: ACCOUNT_ID, region, credentials: [CREDENTIALS], newAccount: true };
  const oss = createOssEmulator({ ...account, buckets: [bucket] });
  const fc = createFcEmulator({ ...account, readObject: (b, key) => oss.readObject(b, key) });
  let zip;
  if (zipPath) zip = await oss.putObject(bucket, ZIP_KEY, await readFile(zipPath), { contentType: 'application/zip' });
  const inbound = pacer(capBytesPerSecond);
  const outbound = pacer(capBytesPerSecond);
  const ossServer = await serve(async (request) => {
    const response = await oss.handle(
      request.body === null
        ? request
        : new Request(request.url, { method: request.method, headers: request.headers, body: inbound(request.body), duplex: 'half' }),
    );
    return response.body === null ? response : new Response(outbound(response.body), response);
  });
  const fcServer = await serve(fc.handle);
  process.on('message', async ({ id, op, key, text }) => {
    try {
      if (op === 'put') {
        const written = await oss.putObject(bucket, key, Buffer.from(text), { contentType: 'application/json' });
        process.send({ id, manifestEtag: written.etag });
      } else if (op === 'get') {
        process.send({ id, text: Buffer.from(await oss.readObject(bucket, key)).toString('utf8') });
      } else if (op === 'traffic') {
        process.send({ id, inbound: inbound.bytes, outbound: outbound.bytes });
        inbound.bytes = outbound.bytes = 0;
      }
    } catch (error) {
      process.send({ id, error: String(error) });
    }
  });
  process.send({
    id: 'ready',
    ossEndpoint: ossServer.url,
    fcEndpoint: fcServer.url,
    zip: zip && { etag: zip.etag, size: zip.size, crc64: zip.crc64 },
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * Paces the bodies that cross one direction of a link to `bytesPerSecond` in all: one schedule shared
 * by all connections, so parallel requests to one region share its bandwidth as they would over a WAN.
 */
function pacer(bytesPerSecond) {
  let nextFree = performance.now();
  const pace = (body) => {
    const reader = body.getReader();
    return new ReadableStream(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          pace.bytes += value.byteLength;
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
  };
  pace.bytes = 0;
  return pace;
}

/** One invocation of the bundle, as Function Compute makes it; its log lines are kept for a failure only. */
async function runPublish({ env, event, layerName }) {
  Object.assign(process.env, env);
  const lines = [];
  process.stdout.write = (chunk) => lines.push(String(chunk)) > 0;
  const { handler } = createRequire(import.meta.url)(join(root, 'dist/index.js'));
  const context = { requestId: `bench-${layerName}`, region: HOME.region, accountId: ACCOUNT_ID, credentials: CREDENTIALS, function: { timeout: 600 } };
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const startedAt = performance.now();
  try {
    await handler(Buffer.from(JSON.stringify(event)), context);
  } catch (error) {
    process.stderr.write(`${lines.slice(-20).join('')}\npublish of ${layerName} rejected: ${error.message}\n`);
    process.exit(1);
  }
  const ms = performance.now() - startedAt;
  clearInterval(sampler);
  process.send({ ms, peakRssMiB: peak / 2 ** 20 });
  process.disconnect();
}

function copyInChild(lib, job) {
  return answerFromChild(fileURLToPath(import.meta.url), ['copy', lib, JSON.stringify(job)], 'copy');
}

/** The bare copy to one region (ranged GETs streamed into UploadParts, CRC-64 checked), as docs/regions.md measured it. */
async function runCopy(lib, { home, target, uploadId }) {
  const { copyToRegion, createOssStore } = createRequire(import.meta.url)(lib);
  const store = ({ bucket, region, ossEndpoint }) =>
    createOssStore({ bucket, region, endpoint: new URL(ossEndpoint), credentials: CREDENTIALS, timeoutMs: 600_000 });
  const source = store(home);
  const head = await source.head(ZIP_KEY);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const startedAt = performance.now();
  const copy = await copyToRegion(
    { store: source, key: ZIP_KEY, head, crc64: home.zip.crc64 },
    { region: target.region, store: store(target) },
    {
      uploadId,
      auditPrefix: '_audit/',
    },
  );
  const ms = performance.now() - startedAt;
  clearInterval(sampler);
  if (copy.crc64 !== home.zip.crc64 || copy.reused) throw new Error(`copy to ${copy.region}: ${JSON.stringify(copy)}`);
  process.send({ ms, peakRssMiB: peak / 2 ** 20 });
  process.disconnect();
}
