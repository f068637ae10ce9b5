#!/usr/bin/env node
// Upload of a 300 MiB layer zip: `layer-publisher publish` beside a plain ali-oss `multipartUpload`
// of the same file, in the same run, to the same local OSS.
//
// The local OSS (the emulator, objects as files in a temporary folder) runs in its own process and
// listens on a loopback socket. Each upload runs in a fresh Node process, so its peak RSS is its own:
// `publish` is the CLI's whole command with --wait 0 (one read of the file feeding both the checks, CRC-64
// and every entry, and the zip's 8 MiB parts; the manifest's PUT; OSS's CRC-64 compared), so it ends with "no result in
// time" (exit 3) as no publisher runs here; the peer is ali-oss's `multipartUpload` with the same part
// size and its default parallelism. MB/s = 10^6 B/s of the zip's size over the wall time; CPU s = the uploader
// process's own user + system time (the steadier figure on a shared machine: the checks' CRCs are work
// the plain upload does not do), and the local OSS's CPU time serving it (the same work for both: with
// one core for the uploader and one for the local OSS, the local OSS sets the pace); medians.
//
// The TypeScript sources are bundled with esbuild into a temporary file first, so the numbers are for
// the code in src/, not for a stale build.

import { fork } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerCpuRequests, answerFromChild, askCpuMs, bundleSources, median } from './bench-child.mjs';

const ZIP_BYTES = 300 * 1024 * 1024;
const PART_BYTES = 8 * 1024 * 1024;
const BUCKET = 'bench-layers';
// Nine runs each by default, interleaved, medians: two were too few to tell a change from the noise of a
// shared machine, and five put the ratio anywhere from 0.85 to 1.00 on 2026-12-07 (single runs
// ranged 83-127 MB/s) where eleven gave 0.96; eighteen uploads take about a minute here.
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

const [role, ...args] = process.argv.slice(2);
if (role === 'server') await runServer(args[0], args[1]);
else if (role === 'upload') await runUpload(args[0], JSON.parse(args[1]));
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'));
  const lib = join(dir, 'lib.cjs');
  let server;
  try {
    await bundleLibrary(lib);
    const { writeStoredZip } = createRequire(import.meta.url)(lib);
    const zip = join(dir, 'bench.zip');
    await writeStoredZip(zip, 'python/bench/data.bin', ZIP_BYTES - 136);
    await writeFile(join(dir, 'bench.layer.json'), JSON.stringify({ layerName: 'bench', compatibleRuntime: ['python3.10'] }));
    await mkdir(join(dir, 'data'));
    server = fork(fileURLToPath(import.meta.url), ['server', lib, join(dir, 'data')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const endpoint = await new Promise((resolve, reject) => {
      server.once('message', resolve);
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    console.log(
      `zip: ${ZIP_BYTES} bytes (${ZIP_BYTES / 2 ** 20} MiB) in ${PART_BYTES / 2 ** 20} MiB parts, to the local OSS at ${endpoint} (process ${server.pid})`,
    );
    console.log(`uploader: a fresh Node process per run; medians of ${RUNS} runs, interleaved\n`);

    const modes = [
      ['layer-publisher publish (check + upload)', 'publish'],
      ['ali-oss multipartUpload', 'plain'],
    ];
    const samples = new Map(modes.map(([name]) => [name, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const [name, mode] of modes) {
        const before = await askCpuMs(server);
        const sample = await uploadInChild(lib, { endpoint, mode, zip, run });
        samples.get(name).push({ ...sample, serverCpuMs: (await askCpuMs(server)) - before });
      }
    }
    const rows = modes.map(([name]) => summarise(name, samples.get(name)));
    printTable(rows);
  } finally {
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

function bundleLibrary(outfile) {
  return bundleSources(outfile, [
    "export { runCli } from './src/cli/run';",
    "export { createOssEmulator, createFolderBackend, serve } from './src/emulator';",
    "export { LOCAL_CREDENTIALS, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './src/console/local-account';",
    "export { writeStoredZip } from './test/local/stored-zip';",
    "export { default as OSS } from 'ali-oss';",
  ]);
}

function uploadInChild(lib, job) {
  return answerFromChild(fileURLToPath(import.meta.url), ['upload', lib, JSON.stringify(job)], 'uploader');
}

async function runServer(lib, dataDir) {
  const { createOssEmulator, createFolderBackend, serve, LOCAL_CREDENTIALS, LOCAL_ACCOUNT_ID, LOCAL_REGION } = createRequire(import.meta.url)(lib);
  const oss = createOssEmulator({
    accountId: LOCAL_ACCOUNT_ID,
    region: LOCAL_REGION,
    credentials: [LOCAL_CREDENTIALS],
    backend: createFolderBackend(dataDir),
    buckets: [BUCKET],
  });
  const server = await serve(oss.handle, { port: 0, host: '127.0.0.1' });
  process.send(server.url);
  answerCpuRequests();
  process.on('disconnect', () => process.exit(0));
}

async function runUpload(lib, { endpoint, mode, zip, run }) {
  const { runCli, OSS, LOCAL_CREDENTIALS, LOCAL_REGION } = createRequire(import.meta.url)(lib);
  const key = `bench/${mode}-${run}`;
  const startedAt = performance.now();
  const cpuAtStart = process.cpuUsage();
  if (mode === 'publish') {
    let out = '';
    const io = { out: (text) => void (out += text), err: (text) => void (out += text), env: {}, interactive: false };
    const code = await runCli(['publish', zip, '--bucket', BUCKET, '--prefix', `${key}/`, '--endpoint', endpoint, '--wait', '0'], io);
    // 3: uploaded and checked, and no publisher here to write a result. Anything else is a failed run.
    if (code !== 3) throw new Error(`publish exited with ${code}:\n${out}`);
  } else {
    const client = new OSS({ bucket: BUCKET, region: `oss-${LOCAL_REGION}`, ...LOCAL_CREDENTIALS, endpoint, secure: false, sldEnable: true, timeout: 600_000 });
    await client.multipartUpload(`${key}/bench.zip`, zip, { partSize: PART_BYTES, mime: 'application/zip' });
  }
  const ms = performance.now() - startedAt;
  const { user, system } = process.cpuUsage(cpuAtStart);
  process.send({ ms, cpuMs: (user + system) / 1e3, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
}

function summarise(name, runs) {
  const ms = median(runs.map((r) => r.ms));
  return {
    name,
    mbPerSecond: ZIP_BYTES / 1e3 / ms,
    cpuMs: median(runs.map((r) => r.cpuMs)),
    serverCpuMs: median(runs.map((r) => r.serverCpuMs)),
    peakRssMiB: median(runs.map((r) => r.peakRssBytes)) / 2 ** 20,
    runs,
  };
}

function printTable(rows) {
  const [publish, plain] = rows;
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'upload'.padEnd(width)}  ${'MB/s'.padStart(7)}  ${'CPU s'.padStart(6)}  ${'peak RSS'.padStart(9)}  ${'OSS CPU s'.padStart(9)}  runs (MB/s)`);
  for (const row of rows) {
    const each = row.runs.map((r) => (ZIP_BYTES / 1e3 / r.ms).toFixed(0)).join(', ');
    console.log(
      `${row.name.padEnd(width)}  ${row.mbPerSecond.toFixed(1).padStart(7)}  ${(row.cpuMs / 1e3).toFixed(2).padStart(6)}  ${`${row.peakRssMiB.toFixed(0)} MiB`.padStart(9)}  ${(row.serverCpuMs / 1e3).toFixed(2).padStart(9)}  ${each}`,
    );
  }
  console.log(
    `\npublish / plain: ${(publish.mbPerSecond / plain.mbPerSecond).toFixed(2)}x the rate, ${(publish.cpuMs / plain.cpuMs).toFixed(2)}x the CPU time, ${(publish.peakRssMiB / plain.peakRssMiB).toFixed(2)}x the peak RSS`,
  );
}
