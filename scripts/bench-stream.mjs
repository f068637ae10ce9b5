#!/usr/bin/env node
// Throughput and memory of the publisher's verified zip read against a raw GET of the same object.
//
// Two 256 MiB zips of deflated entries, one of compressible text (what node_modules mostly is) and one
// of incompressible bytes (deflate falls back to stored blocks), each in turn in the OSS emulator, served
// over a real loopback socket by a separate Node process, so the server does not take CPU from the
// reader's thread (on these 2-core machines it still shares the machine). Every read runs in a fresh
// child process, so its peak RSS is its own: the raw GET drains `store.stream` (the ali-oss adapter, no
// hashing, no zip checks); the verified reads are `readAndVerifyZip` through the same adapter, without
// and with the entry checks (local headers, CRC-32, inflating every deflated entry), and with the entry
// checks but without gathering the packages (what the contents cost). Medians of several runs, MB/s =
// 10^6 B/s of the zip, and core-seconds per GiB of zip: the reader process's CPU time (every thread,
// zlib's pool included) over what it read, what a Function Compute instance's cores pay. A second
// listener caps each connection's bandwidth, as an OSS connection is capped, to show what parallel
// ranged reads (READ_CONCURRENCY) gain. Beside them, what one core inflates in this process per second
// of its CPU time (inflateRawSync), and that times the cores available (os.availableParallelism()): the
// inflate limit, the issue's measure (zlib's engine alone, into one kept buffer, does more, and is printed
// beside it); each read's share of the limit is printed, in MB/s and
// in core-seconds (the second unmoved by what else runs on a shared machine). Each zip starts with a node_modules-like
// run of small files (a package.json and an index.js per package), so gathering the packages has work.
// Under each table, how each read's core-seconds split between the JS thread and the others (the
// inflating workers, zlib's pool, V8's helpers; Linux only), the garbage collections V8 made (perf_hooks 'gc' entries), and the local
// OSS's core-seconds serving it; then the goal's figure, and the ceiling the cores set on any read that
// must fetch and inflate every byte, with the local OSS on the same cores (printShareOfLimit).
//
// The TypeScript sources are bundled with esbuild into a temporary file first, so the numbers are always
// for the code in src/, not for a stale build.

import { fork } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { answerCpuRequests, answerFromChild, askCpuMs, bundleSources, median } from './bench-child.mjs';
import { crc32, createInflateRaw, deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';

const ZIP_BYTES = 256 * 1024 * 1024;
const KEY = 'layers/bench.zip';
const BUCKET = 'bench-layers';
const REGION = 'cn-hangzhou';
const CREDENTIALS = { accessKeyId: 'BenchKeyId', accessKeySecret: 'bench-secret' };
const CAP_BYTES_PER_SECOND = 50e6;
// The environment knobs are for quick local runs; the defaults are what the figures in the issue use.
// Five runs of each uncapped read: with three, the medians of two reads that differ only in gathering
// the packages came out 15 % apart either way from run to run on 2026-12-07; with eight, 1-6 %.
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CAPPED_RUNS = Number(process.env.BENCH_CAPPED_RUNS ?? 1);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCIES ?? '1,4').split(',').map(Number);
const DEFAULT_CONCURRENCY = 4;
const KINDS = (process.env.BENCH_KINDS ?? 'compressible,incompressible').split(',');
/** Each zip is this one entry's deflated bytes repeated under many names: built in seconds, not minutes. */
const ENTRY_BYTES = 16 * 1024 * 1024;
/** The small files in front: a package.json and an index.js for each of this many packages. */
const SMALL_PACKAGES = 2000;
const CORES = availableParallelism();

const [role, ...args] = process.argv.slice(2);
if (role === 'server') await runServer(args[0], args[1]);
else if (role === 'read') await runRead(args[0], JSON.parse(args[1]));
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-stream-'));
  const lib = join(dir, 'lib.cjs');
  try {
    await bundleLibrary(lib);
    console.log(`reader: a fresh Node process per run; medians of ${RUNS} runs (${CAPPED_RUNS} when capped)\n`);
    for (const kind of KINDS) await benchKind(lib, kind);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchKind(lib, kind) {
  const server = fork(fileURLToPath(import.meta.url), ['server', lib, kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { plain, capped, size, entries, unpacked } = await new Promise((resolve, reject) => {
      server.once('message', resolve);
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    console.log(
      `${kind} zip: ${size} bytes (${(size / 2 ** 20).toFixed(0)} MiB), ${entries} deflated entries unpacking to ` +
        `${(unpacked / 2 ** 20).toFixed(0)} MiB, served by the OSS emulator in process ${server.pid}`,
    );
    const limit = printInflate(kind, size / unpacked);
    // The local OSS's CPU time serving each read: the share of the machine's cores the reader did not have.
    const read = async (endpoint, mode, concurrency) => {
      const before = await askCpuMs(server);
      const sample = await readInChild(lib, { endpoint, mode, concurrency });
      return { ...sample, serverCoreSecondsPerGiB: ((await askCpuMs(server)) - before) / 1e3 / (size / 2 ** 30) };
    };
    const modes = [
      ['raw GET (no hashing)', 'raw', 1],
      [`no entry checks, READ_CONCURRENCY=${DEFAULT_CONCURRENCY}`, 'structure', DEFAULT_CONCURRENCY],
      [`checks, no contents, READ_CONCURRENCY=${DEFAULT_CONCURRENCY}`, 'no-contents', DEFAULT_CONCURRENCY],
      ...CONCURRENCIES.map((n) => [`entry checks, READ_CONCURRENCY=${n}`, 'verified', n]),
    ];
    for (const [title, endpoint, runs] of [
      ['uncapped loopback', plain, RUNS],
      [`each connection capped at ${CAP_BYTES_PER_SECOND / 1e6} MB/s`, capped, CAPPED_RUNS],
    ]) {
      const samples = new Map(modes.map(([name]) => [name, []]));
      // Interleaved, so drift in the machine's load hits every mode alike.
      for (let run = 0; run < runs; run++) {
        for (const [name, mode, n] of modes) samples.get(name).push(await read(endpoint, mode, n));
      }
      if (runs === 0) continue;
      printTable(
        `${kind}, ${title}`,
        modes.map(([name]) => summarise(name, samples.get(name))),
        limit,
      );
      const raw = summarise('', samples.get(modes[0][0]));
      const checked = summarise('', samples.get(`entry checks, READ_CONCURRENCY=${DEFAULT_CONCURRENCY}`));
      const bare = summarise('', samples.get(`checks, no contents, READ_CONCURRENCY=${DEFAULT_CONCURRENCY}`));
      const unchecked = summarise('', samples.get(`no entry checks, READ_CONCURRENCY=${DEFAULT_CONCURRENCY}`));
      // What the entry checks cost, as the ratios the goals are set in: the rate, and the core-seconds (the steadier of the two).
      console.log(
        `  entry checks against the read without them at READ_CONCURRENCY=${DEFAULT_CONCURRENCY}: ` +
          `${(checked.mbPerSecond / unchecked.mbPerSecond).toFixed(2)}x the rate${kind === 'incompressible' ? ' (goal: at least 0.85x)' : ''}, ` +
          `${(checked.coreSecondsPerGiB / unchecked.coreSecondsPerGiB).toFixed(2)}x the core-seconds`,
      );
      printShareOfLimit(kind, checked, limit, endpoint === plain ? raw : undefined);
      console.log(
        `  contents (packages gathered) at READ_CONCURRENCY=${DEFAULT_CONCURRENCY}: ${signed((bare.mbPerSecond / checked.mbPerSecond - 1) * 100)}% time, ` +
          `${signed((checked.coreSecondsPerGiB / bare.coreSecondsPerGiB - 1) * 100)}% core-seconds\n`,
      );
    }
  } finally {
    server.kill();
  }
}

/**
 * One core inflating one entry, in this process, per second of its CPU time (a shared machine's other
 * loads do not count): MB/s of what comes out and of what goes in, and the core-seconds a GiB of this
 * zip (whose ratio, small files included, is `zipPerUnpacked`) takes to inflate; times the cores, the
 * inflate limit in MB/s of this zip.
 */
function printInflate(kind, zipPerUnpacked) {
  const { compressed, data } = entryData(kind);
  const { rounds, seconds } = forCpuSeconds(1.5, () => inflateRawSync(compressed));
  const out = (rounds * data.length) / 1e6 / seconds;
  const limit = out * zipPerUnpacked * CORES;
  const coreSecondsPerGiB = 2 ** 30 / 1e6 / (out * zipPerUnpacked);
  console.log(
    `inflate on one core: ${out.toFixed(0)} MB/s out, ` +
      `${((rounds * compressed.length) / 1e6 / seconds).toFixed(0)} MB/s of deflated input (ratio ${(data.length / compressed.length).toFixed(2)}); ` +
      `${coreSecondsPerGiB.toFixed(2)} core-seconds per GiB of this zip\n` +
      `inflate limit of the ${CORES} cores available: ${limit.toFixed(0)} MB/s of this zip`,
  );
  const kept = keptEngineRate(compressed, data.length);
  if (kept !== undefined) {
    console.log(
      `  (zlib alone, one engine reset for each round into one kept buffer: ${kept.toFixed(0)} MB/s out, ${(kept / out).toFixed(2)}x the rate above, ` +
        'which also pays for inflateRawSync making its output in 16 KiB pieces and joining them)',
    );
  }
  console.log('');
  // The least inflating can cost: zlib's engine alone where it could be measured.
  const engineCoreSecondsPerGiB = kept === undefined ? coreSecondsPerGiB : (coreSecondsPerGiB * out) / kept;
  return { mbPerSecond: limit, coreSecondsPerGiB, engineCoreSecondsPerGiB };
}

/** Runs `work` until it has used `cpuSeconds` of this process's CPU time: how many rounds, in how many CPU seconds. */
function forCpuSeconds(cpuSeconds, work) {
  const startedAt = process.cpuUsage();
  const used = () => {
    const { user, system } = process.cpuUsage(startedAt);
    return (user + system) / 1e6;
  };
  let rounds = 0;
  while (used() < cpuSeconds) {
    work();
    rounds += 1;
  }
  return { rounds, seconds: used() };
}

/**
 * What zlib's inflate itself does on one core: the binding under a zlib stream driven as
 * src/zip/inflate-whole.ts drives it, into one buffer made once. Undefined where the binding differs.
 */
function keptEngineRate(compressed, size) {
  const engine = createInflateRaw();
  const { _handle: binding, _writeState: writeState } = engine;
  if (typeof binding?.writeSync !== 'function' || !(writeState instanceof Uint32Array)) return undefined;
  const output = Buffer.allocUnsafe(size + 1);
  const { rounds, seconds } = forCpuSeconds(1.5, () => {
    binding.reset();
    binding.writeSync(zlibConstants.Z_FINISH, compressed, 0, compressed.length, output, 0, output.length);
    if (output.length - writeState[0] !== size) throw new Error('the kept engine unpacked another size');
  });
  engine.close();
  return (rounds * size) / 1e6 / seconds;
}

/**
 * Cores-busy arithmetic, from this run's own figures: a read at R GiB/s costing C core-seconds per GiB in
 * the reader and S in the local OSS keeps R x (C + S) cores busy, so on CORES cores it can go no faster
 * than CORES / (C + S). No checked read can cost less than fetching the bytes (the raw GET's C and S) and
 * inflating them with zlib's engine alone (into one kept buffer, cheaper than the inflate limit's
 * inflateRawSync): with `raw`, the ceiling that sets is printed too.
 * Not for capped connections, where one capped raw GET pays per byte for waiting (smaller chunks) and
 * the cap, not the cores, is the bound.
 */
function printShareOfLimit(kind, checked, limit, raw) {
  const toMBps = (gibPerSecond) => (gibPerSecond * 2 ** 30) / 1e6;
  const busy = (checked.mbPerSecond / toMBps(1)) * (checked.coreSecondsPerGiB + checked.serverCoreSecondsPerGiB);
  const goal = kind === 'compressible' ? ' (goal: at least 80%)' : '';
  console.log(
    `  entry checks at READ_CONCURRENCY=${DEFAULT_CONCURRENCY}: ${((checked.mbPerSecond / limit.mbPerSecond) * 100).toFixed(0)}% of the inflate limit${goal}, ` +
      `keeping ${busy.toFixed(2)} of the ${CORES} cores busy with the local OSS's share`,
  );
  if (raw === undefined) return;
  const ceiling = toMBps(CORES / (raw.coreSecondsPerGiB + raw.serverCoreSecondsPerGiB + limit.engineCoreSecondsPerGiB));
  console.log(
    `  ceiling on these ${CORES} cores: a read that did no more than fetch (the raw GET's ${raw.coreSecondsPerGiB.toFixed(2)} core-s/GiB, ` +
      `the local OSS's ${raw.serverCoreSecondsPerGiB.toFixed(2)}) and inflate with zlib's engine alone (${limit.engineCoreSecondsPerGiB.toFixed(2)}) would fill them at ` +
      `${ceiling.toFixed(0)} MB/s, ${((ceiling / limit.mbPerSecond) * 100).toFixed(0)}% of the inflate limit`,
  );
}

function signed(value) {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

/** Text-like bytes (words of a small vocabulary, as source code repeats its identifiers) or random ones. */
function entryData(kind) {
  const data = Buffer.alloc(ENTRY_BYTES);
  if (kind === 'incompressible') {
    randomFillSync(data);
  } else {
    const words = ['const', 'require', 'module', 'exports', 'function', 'return', 'this', 'value', '=>', '{', '}', ';', 'if', 'else', 'null'];
    const random = randomFillSync(Buffer.alloc(ENTRY_BYTES / 4));
    let at = 0;
    for (let index = 0; at < data.length; index++) {
      const word = index % 97 === 0 ? `id${random[index % random.length] * 31 + index}` : words[random[index % random.length] % words.length];
      at += data.write(`${word}${index % 13 === 0 ? '\n' : ' '}`, at);
    }
  }
  return { data, compressed: deflateRawSync(data, { level: 6 }) };
}

function bundleLibrary(outfile) {
  return bundleSources(outfile, [
    "export { readAndVerifyZip } from './src/publish/verify-zip';",
    "export { createOssStore } from './src/oss/ali-oss-store';",
    "export { createOssEmulator, serve } from './src/emulator';",
  ]);
}

function readInChild(lib, job) {
  return answerFromChild(fileURLToPath(import.meta.url), ['read', lib, JSON.stringify(job)], 'reader');
}

async function runServer(lib, kind) {
  const { createOssEmulator, serve } = createRequire(import.meta.url)(lib);
  const oss = createOssEmulator({ accountId: '1234567890123456', region: REGION, credentials: [CREDENTIALS], buckets: [BUCKET] });
  const { zip, entries, unpacked } = deflatedZip(kind, ZIP_BYTES);
  await oss.putObject(BUCKET, KEY, zip, { contentType: 'application/zip' });
  const plain = await serve(oss.handle);
  const capped = await serve(async (request) => capBandwidth(await oss.handle(request), CAP_BYTES_PER_SECOND));
  process.send({ plain: plain.url, capped: capped.url, size: zip.length, entries, unpacked });
  answerCpuRequests();
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
 * A zip of about `total` bytes: one entry's deflated bytes under as many names as fit, then the central
 * directory and end record.
 */
function deflatedZip(kind, total) {
  const { data, compressed } = entryData(kind);
  const dataCrc = crc32(data);
  const locals = [];
  const centrals = [];
  let offset = 0;
  let unpacked = 0;
  const add = (path, entry, entryCrc, compressedEntry) => {
    const name = Buffer.from(path);
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(entryCrc, 14);
    local.writeUInt32LE(compressedEntry.length, 18);
    local.writeUInt32LE(entry.length, 22);
    local.writeUInt16LE(name.length, 26);
    name.copy(local, 30);
    const central = Buffer.alloc(46 + name.length);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(entryCrc, 16);
    central.writeUInt32LE(compressedEntry.length, 20);
    central.writeUInt32LE(entry.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    name.copy(central, 46);
    locals.push(local, compressedEntry);
    centrals.push(central);
    offset += local.length + compressedEntry.length;
    unpacked += entry.length;
  };
  for (let index = 0; index < SMALL_PACKAGES; index++) {
    const manifest = Buffer.from(JSON.stringify({ name: `package-${index}`, version: `1.${index}.0`, main: 'index.js', license: 'MIT' }, null, 2));
    add(`nodejs/node_modules/package-${index}/package.json`, manifest, crc32(manifest), deflateRawSync(manifest));
    const code = data.subarray(index * 2048, (index + 1) * 2048);
    add(`nodejs/node_modules/package-${index}/index.js`, code, crc32(code), deflateRawSync(code));
  }
  for (let index = 0; offset + compressed.length < total; index++) {
    add(`python/bench/part${String(index).padStart(4, '0')}.txt`, data, dataCrc, compressed);
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length, 8);
  end.writeUInt16LE(centrals.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return { zip: Buffer.concat([...locals, directory, end]), entries: centrals.length, unpacked };
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
  const collections = countCollections();
  const jsThreadBefore = jsThreadCpuSeconds();
  const loopBefore = performance.eventLoopUtilization();
  const faultsBefore = process.resourceUsage().minorPageFault;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  let bytes = 0;
  let crc64;
  if (mode === 'raw') {
    const { body } = await store.stream(KEY, { ifMatch: head.etag });
    for await (const chunk of body) bytes += chunk.length;
  } else {
    const verified = await readAndVerifyZip(store, KEY, head, { concurrency, verifyEntries: mode !== 'structure', gatherContents: mode === 'verified' });
    if (mode === 'verified' && verified.packages.packages.length !== SMALL_PACKAGES) throw new Error(`found ${verified.packages.packages.length} packages`);
    bytes = verified.bytesRead;
    crc64 = verified.crc64;
    if (crc64 !== head.crc64) throw new Error(`CRC-64 ${crc64} differs from the emulator's ${head.crc64}`);
  }
  const ms = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  // How busy the reader's one JS thread was: near 100% would mean the hash stalls the socket.
  const busy = performance.eventLoopUtilization(loopBefore).utilization;
  const jsThreadSeconds = jsThreadCpuSeconds() - jsThreadBefore;
  const gc = await collections.stop();
  if (bytes !== head.size) throw new Error(`read ${bytes} of ${head.size} bytes`);
  // maxRSS is in KiB: the whole process's high-water mark, start-up included.
  process.send({
    mbPerSecond: bytes / 1e6 / (ms / 1000),
    coreSecondsPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / 2 ** 30),
    busy,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    jsThreadShare: jsThreadSeconds / ((cpu.user + cpu.system) / 1e6),
    pageFaultsPerGiB: (process.resourceUsage().minorPageFault - faultsBefore) / (bytes / 2 ** 30),
    ...gc,
  });
  process.disconnect();
}

/**
 * The JS thread's own CPU time, from /proc (Linux; NaN elsewhere): what is left of the read's CPU time
 * ran on zlib's pool and V8's helper threads (optimizing compiles, concurrent marking).
 */
function jsThreadCpuSeconds() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Garbage collections V8 reports (perf_hooks 'gc' entries): full ones, young ones, and their pauses. */
function countCollections() {
  const counts = { fullCollections: 0, youngCollections: 0, gcPauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) counts.fullCollections += 1;
      if (entry.detail.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) counts.youngCollections += 1;
      counts.gcPauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      // Entries are delivered after the collection, on a later turn of the loop.
      await new Promise((resolve) => setImmediate(resolve));
      observer.disconnect();
      return counts;
    },
  };
}

function summarise(name, samples) {
  return {
    name,
    mbPerSecond: median(samples.map((sample) => sample.mbPerSecond)),
    coreSecondsPerGiB: median(samples.map((sample) => sample.coreSecondsPerGiB)),
    busy: median(samples.map((sample) => sample.busy)),
    peakRssMiB: median(samples.map((sample) => sample.peakRssMiB)),
    jsThreadShare: median(samples.map((sample) => sample.jsThreadShare)),
    fullCollections: samples.map((sample) => sample.fullCollections),
    youngCollections: median(samples.map((sample) => sample.youngCollections)),
    gcPauseMs: median(samples.map((sample) => sample.gcPauseMs)),
    pageFaultsPerGiB: median(samples.map((sample) => sample.pageFaultsPerGiB)),
    serverCoreSecondsPerGiB: median(samples.map((sample) => sample.serverCoreSecondsPerGiB)),
  };
}

/**
 * `of limit`: MB/s against the cores' inflate limit. `inflating`: the share of the read's core-seconds
 * that inflating alone would take, the same ratio where the cores are the bound, free of the load other
 * processes put on a shared machine.
 */
function printTable(title, rows, limit) {
  const [raw] = rows;
  if (rows.some((row) => Number.isNaN(row.mbPerSecond))) return;
  console.log(title);
  console.log(
    `  ${'read'.padEnd(38)} ${'MB/s'.padStart(8)} ${'of raw'.padStart(7)} ${'of limit'.padStart(9)} ${'core-s/GiB'.padStart(11)} ` +
      `${'inflating'.padStart(10)} ${'JS busy'.padStart(8)} ${'peak RSS'.padStart(10)} ${'over raw'.padStart(9)}`,
  );
  for (const row of rows) {
    const share = `${((row.mbPerSecond / raw.mbPerSecond) * 100).toFixed(0)}%`;
    const ofLimit = `${((row.mbPerSecond / limit.mbPerSecond) * 100).toFixed(0)}%`;
    const inflating = `${((limit.coreSecondsPerGiB / row.coreSecondsPerGiB) * 100).toFixed(0)}%`;
    const growth = row.peakRssMiB - raw.peakRssMiB;
    console.log(
      `  ${row.name.padEnd(38)} ${row.mbPerSecond.toFixed(0).padStart(8)} ${share.padStart(7)} ${ofLimit.padStart(9)} ${row.coreSecondsPerGiB.toFixed(2).padStart(11)} ${inflating.padStart(10)} ` +
        `${`${(row.busy * 100).toFixed(0)}%`.padStart(8)} ${`${row.peakRssMiB.toFixed(0)} MiB`.padStart(10)} ${`${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MiB`.padStart(9)}`,
    );
  }
  // Where the core-seconds went. The full collections of every run, not a median: V8 settles either
  // on a few or on dozens for the same read (docs/contents.md).
  console.log(
    `  ${'where the CPU went'.padEnd(38)} ${'JS thread'.padStart(10)} ${'other threads'.padStart(14)} ${'full GCs, each run'.padStart(19)} ${'young GCs'.padStart(10)} ${'GC pauses'.padStart(10)} ${'page faults'.padStart(12)} ${'local OSS'.padStart(10)}`,
  );
  for (const row of rows) {
    const js = row.coreSecondsPerGiB * row.jsThreadShare;
    const shown = (value) => (Number.isNaN(value) ? '-' : value.toFixed(2));
    console.log(
      `  ${row.name.padEnd(38)} ${shown(js).padStart(10)} ${shown(row.coreSecondsPerGiB - js).padStart(14)} ${row.fullCollections.join(', ').padStart(19)} ` +
        `${row.youngCollections.toFixed(0).padStart(10)} ${`${row.gcPauseMs.toFixed(0)} ms`.padStart(10)} ${`${(row.pageFaultsPerGiB / 1000).toFixed(0)}k`.padStart(12)} ${row.serverCoreSecondsPerGiB.toFixed(2).padStart(10)}`,
    );
  }
  console.log(
    "  (JS thread and other threads in core-s/GiB; GC pauses are the JS thread's, per read; page faults: the reader's minor faults per GiB of zip; local OSS: its core-s/GiB serving the read)\n",
  );
}
