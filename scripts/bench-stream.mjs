#!/usr/bin/env node
// Throughput and memory of the publisher's verified zip read against a raw GET of the same object.
//
// A 256 MiB stored zip of random bytes sits in the OSS emulator, served over a real loopback socket by a
// separate Node process, so the server does not take CPU from the reader's thread (on these 2-core
// machines it still shares the machine). Every read runs in a fresh child process, so its peak RSS is its
// own: the raw GET drains `store.stream` (the ali-oss adapter, no hashing, no zip inspection); the
// verified read is `readAndVerifyZip` through the same adapter. Medians of several runs, MB/s = 10^6 B/s.
// A second listener caps each connection's bandwidth, as an OSS connection is capped, to show what
// parallel ranged reads (READ_CONCURRENCY) gain.
//
// The TypeScript sources are bundled with esbuild into a temporary file first, so the numbers are always
// for the code in src/, not for a stale build.

import { fork } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { answerOfChild, bundleSources, median } from './bench-support.mjs';

const ZIP_BYTES = 256 * 1024 * 1024;
const KEY = 'layers/bench.zip';
const BUCKET = 'bench-layers';
const REGION = 'cn-hangzhou';
const CREDENTIALS = { accessKeyId: 'BenchKeyId', accessKeySecret: 'bench-secret' };
const CAP_BYTES_PER_SECOND = 50e6;
// The environment knobs are for quick local runs; the defaults are what the figures in the issue use.
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CAPPED_RUNS = Number(process.env.BENCH_CAPPED_RUNS ?? 3);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCIES ?? "1,2,4,8").split(",").map(Number);

const [role, ...args] = process.argv.slice(2);
if (role === 'server') await runServer(args[0]);
else if (role === 'read') await runRead(args[0], JSON.parse(args[1]));
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-stream-'));
  const lib = join(dir, 'lib.cjs');
  let server;
  try {
    await bundleLibrary(lib);
    server = fork(fileURLToPath(import.meta.url), ['server', lib], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { plain, capped, size } = await new Promise((resolve, reject) => {
      server.once('message', resolve);
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    console.log(`zip: ${size} bytes (${(size / 2 ** 20).toFixed(0)} MiB), served by the OSS emulator in process ${server.pid}`);
    console.log(`reader: a fresh Node process per run; medians of ${RUNS} runs (${CAPPED_RUNS} when capped)\n`);

    const read = (endpoint, mode, concurrency) => readInChild(lib, { endpoint, mode, concurrency });
    const rows = [];
    // Interleaved, so drift in the machine's load hits every mode alike.
    const modes = [['raw GET (no hashing)', 'raw', 1], ...CONCURRENCIES.map((n) => [`verified, READ_CONCURRENCY=${n}`, 'verified', n])];
    const samples = new Map(modes.map(([name]) => [name, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const [name, mode, n] of modes) samples.get(name).push(await read(plain, mode, n));
    }
    for (const [name] of modes) rows.push(summarise(name, samples.get(name)));
    printTable('uncapped loopback', rows);

    const cappedRows = [];
    const cappedModes = [['raw GET (no hashing)', 'raw', 1], ...CONCURRENCIES.map((n) => [`verified, READ_CONCURRENCY=${n}`, 'verified', n])];
    const cappedSamples = new Map(cappedModes.map(([name]) => [name, []]));
    for (let run = 0; run < CAPPED_RUNS; run++) {
      for (const [name, mode, n] of cappedModes) cappedSamples.get(name).push(await read(capped, mode, n));
    }
    for (const [name] of cappedModes) cappedRows.push(summarise(name, cappedSamples.get(name)));
    printTable(`each connection capped at ${CAP_BYTES_PER_SECOND / 1e6} MB/s`, cappedRows);
  } finally {
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

async function bundleLibrary(outfile) {
  await bundleSources(outfile, [
    "export { readAndVerifyZip } from './src/publish/verify-zip';",
    "export { createOssStore } from './src/oss/ali-oss-store';",
    "export { createOssEmulator, serve } from './src/emulator';",
  ]);
}

function readInChild(lib, job) {
  return answerOfChild(import.meta.url, ['read', lib, JSON.stringify(job)]);
}

async function runServer(lib) {
  const { createOssEmulator, serve } = createRequire(import.meta.url)(lib);
  const oss = createOssEmulator({ accountId: '1234567890123456', region: REGION, credentials: [CREDENTIALS], buckets: [BUCKET] });
  await oss.putObject(BUCKET, KEY, storedZip(ZIP_BYTES), { contentType: 'application/zip' });
  const plain = await serve(oss.handle);
  const capped = await serve(async (request) => capBandwidth(await oss.handle(request), CAP_BYTES_PER_SECOND));
  process.send({ plain: plain.url, capped: capped.url, size: ZIP_BYTES });
  process.on('disconnect', () => process.exit(0));
}

/** Paces one response body to `bytesPerSecond`, by when each chunk is due rather than per-chunk sleeps. */
function capBandwidth(response, bytesPerSecond) {
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const startedAt = performance.now();
  let sent = 0;
  const paced = new ReadableStream(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        sent += value.byteLength;
        const wait = startedAt + (sent / bytesPerSecond) * 1000 - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(paced, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A zip of exactly `total` bytes: one stored entry of random bytes, then its central directory and end
 * record. Random, so nothing downstream can shortcut on repeated content; stored, so no compression cost.
 */
function storedZip(total) {
  const name = Buffer.from('python/bench/data.bin');
  const localHeader = 30 + name.length;
  const centralHeader = 46 + name.length;
  const endRecord = 22;
  const dataBytes = total - localHeader - centralHeader - endRecord;
  const zip = Buffer.alloc(total);
  const data = randomFillSync(zip.subarray(localHeader, localHeader + dataBytes));
  const dataCrc = crc32(data);
  zip.writeUInt32LE(0x04034b50, 0);
  zip.writeUInt16LE(20, 4);
  zip.writeUInt32LE(dataCrc, 14);
  zip.writeUInt32LE(dataBytes, 18);
  zip.writeUInt32LE(dataBytes, 22);
  zip.writeUInt16LE(name.length, 26);
  name.copy(zip, 30);
  let at = localHeader + dataBytes;
  const directoryStart = at;
  zip.writeUInt32LE(0x02014b50, at);
  zip.writeUInt16LE(20, at + 4);
  zip.writeUInt16LE(20, at + 6);
  zip.writeUInt32LE(dataCrc, at + 16);
  zip.writeUInt32LE(dataBytes, at + 20);
  zip.writeUInt32LE(dataBytes, at + 24);
  zip.writeUInt16LE(name.length, at + 28);
  name.copy(zip, at + 46);
  at += centralHeader;
  zip.writeUInt32LE(0x06054b50, at);
  zip.writeUInt16LE(1, at + 8);
  zip.writeUInt16LE(1, at + 10);
  zip.writeUInt32LE(centralHeader, at + 12);
  zip.writeUInt32LE(directoryStart, at + 16);
  return zip;
}

async function runRead(lib, { endpoint, mode, concurrency }) {
  const { createOssStore, readAndVerifyZip } = createRequire(import.meta.url)(lib);
  const store = createOssStore({
    bucket: BUCKET,
    region: REGION,
    endpoint: new URL(endpoint),
    credentials: CREDENTIALS,
    timeoutMs: 600_000,
  });
  const head = await store.head(KEY);
  const loopBefore = performance.eventLoopUtilization();
  const startedAt = performance.now();
  let bytes = 0;
  let crc64;
  if (mode === 'raw') {
    const { body } = await store.stream(KEY, { ifMatch: head.etag });
    for await (const chunk of body) bytes += chunk.length;
  } else {
    const verified = await readAndVerifyZip(store, KEY, head, { concurrency });
    bytes = verified.bytesRead;
    crc64 = verified.crc64;
    if (crc64 !== head.crc64) throw new Error(`CRC-64 ${crc64} differs from the emulator's ${head.crc64}`);
  }
  const ms = performance.now() - startedAt;
  // How busy the reader's one JS thread was: near 100% would mean the hash stalls the socket.
  const busy = performance.eventLoopUtilization(loopBefore).utilization;
  if (bytes !== head.size) throw new Error(`read ${bytes} of ${head.size} bytes`);
  // maxRSS is in KiB: the whole process's high-water mark, start-up included.
  process.send({ mbPerSecond: bytes / 1e6 / (ms / 1000), busy, peakRssMiB: process.resourceUsage().maxRSS / 1024 });
  process.disconnect();
}

function summarise(name, samples) {
  return {
    name,
    mbPerSecond: median(samples.map((sample) => sample.mbPerSecond)),
    busy: median(samples.map((sample) => sample.busy)),
    peakRssMiB: median(samples.map((sample) => sample.peakRssMiB)),
  };
}

function printTable(title, rows) {
  const [raw] = rows;
  if (rows.some((row) => Number.isNaN(row.mbPerSecond))) return;
  console.log(title);
  console.log(
    `  ${'read'.padEnd(34)} ${'MB/s'.padStart(8)} ${'of raw'.padStart(7)} ${'JS busy'.padStart(8)} ${'peak RSS'.padStart(10)} ${'over raw'.padStart(9)}`,
  );
  for (const row of rows) {
    const share = `${((row.mbPerSecond / raw.mbPerSecond) * 100).toFixed(0)}%`;
    const growth = row.peakRssMiB - raw.peakRssMiB;
    console.log(
      `  ${row.name.padEnd(34)} ${row.mbPerSecond.toFixed(0).padStart(8)} ${share.padStart(7)} ${`${(row.busy * 100).toFixed(0)}%`.padStart(8)} ` +
        `${`${row.peakRssMiB.toFixed(0)} MiB`.padStart(10)} ${`${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MiB`.padStart(9)}`,
    );
  }
  console.log('');
}
