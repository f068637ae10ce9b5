#!/usr/bin/env node
// CRC-64/XZ throughput of the wasm core, the TypeScript fallback and crc64-ecma182.js (the package fc3 uses),
// measured the way docs/reference/crc64.md §3 did: 256 MiB of random bytes fed as 64 KiB and 1 MiB subarray chunks, as a
// stream delivers them; one warm-up pass, then the median of 5; MB/s = 10^6 bytes/s.
//
// The TypeScript sources are bundled with esbuild into a temporary file first, so the numbers are always
// for the code in src/, not for a stale build.

import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import peer from 'crc64-ecma182.js';
import { build } from 'esbuild';
import { median } from './bench-child.mjs';

const INPUT_BYTES = 256 * 1024 * 1024;
const CHUNK_SIZES = [64 * 1024, 1024 * 1024];
const PASSES = 5;

const dir = await mkdtemp(join(tmpdir(), 'bench-crc-'));
let checksum;
try {
  const outfile = join(dir, 'checksum.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('../src/checksum/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    logLevel: 'warning',
  });
  checksum = await import(pathToFileURL(outfile).href);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Each engine hashes a list of chunks and returns the decimal CRC. */
const engines = [
  {
    name: 'wasm core (Crc64Wasm)',
    hash: (chunks) => chunks.reduce((crc, chunk) => crc.update(chunk), new checksum.Crc64Wasm()).digest(),
  },
  {
    name: 'TS fallback (Crc64Js)',
    hash: (chunks) => chunks.reduce((crc, chunk) => crc.update(chunk), new checksum.Crc64Js()).digest(),
  },
  {
    // Fed in chunks anyway: a single call with more than ≈11 MiB aborts (docs/reference/crc64.md §5).
    name: 'crc64-ecma182.js',
    hash: (chunks) => chunks.reduce((prev, chunk) => peer.crc64(chunk, prev), '0'),
  },
];

// A Buffer, because crc64-ecma182.js refuses plain Uint8Arrays; its subarrays are Buffers too.
const input = randomFillSync(Buffer.allocUnsafe(INPUT_BYTES));

/** MB/s per engine per chunk size: results[engine][chunkSizeIndex]. */
const results = engines.map(() => []);
for (const [sizeIndex, chunkSize] of CHUNK_SIZES.entries()) {
  const chunks = [];
  for (let offset = 0; offset < input.length; offset += chunkSize) chunks.push(input.subarray(offset, offset + chunkSize));

  const digests = new Set();
  for (const [engineIndex, engine] of engines.entries()) {
    digests.add(engine.hash(chunks)); // warm-up
    const seconds = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const start = process.hrtime.bigint();
      engine.hash(chunks);
      seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    results[engineIndex][sizeIndex] = INPUT_BYTES / median(seconds) / 1e6;
  }
  // Timing a wrong answer would be meaningless.
  if (digests.size !== 1) throw new Error(`engines disagree on ${chunkSize}-byte chunks: ${[...digests].join(', ')}`);
}

const [wasm, fallback, peerResults] = results;
const label = (bytes) => (bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`);
const rows = [
  ['MB/s', ...CHUNK_SIZES.map((size) => `${label(size)} chunks`)],
  ...engines.map((engine, i) => [engine.name, ...results[i].map((v) => v.toFixed(0))]),
  ['wasm / peer', ...wasm.map((v, i) => `${(v / peerResults[i]).toFixed(2)}×`)],
  ['fallback / peer', ...fallback.map((v, i) => `${(v / peerResults[i]).toFixed(2)}×`)],
];
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));

console.log(
  `CRC-64/XZ, ${INPUT_BYTES / 1024 / 1024} MiB random input, median of ${PASSES} passes after 1 warm-up` +
    ` (MB/s = 10^6 bytes/s)\nNode ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}\n`,
);
for (const row of rows) {
  console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join('   '));
}
