import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_CREDENTIALS } from '../support/cloud';
import { type RegionOss, seedZip, startRegionOss } from './region-clouds';

const MiB = 1024 * 1024;
const REPO = resolve(__dirname, '..', '..');

let dir: string;
let home: RegionOss;
let beijing: RegionOss;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copy-memory-'));
  // The child runs the sources as they are now, bundled as the function is (CommonJS, node20).
  await build({
    stdin: {
      contents: "export { copyToRegion } from './src/regions/copy';\nexport { createOssStore } from './src/oss/ali-oss-store';",
      resolveDir: REPO,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: join(dir, 'lib.cjs'),
    external: ['proxy-agent'],
    logLevel: 'error',
  });
  await writeFile(join(dir, 'child.cjs'), CHILD);
  home = await startRegionOss('cn-hangzhou', 'team-layers');
  beijing = await startRegionOss('cn-beijing', 'team-layers-bj');
}, 60_000);

afterAll(async () => {
  await Promise.all([home?.server.close(), beijing?.server.close()]);
  await rm(dir, { recursive: true, force: true });
});

/**
 * Copies a warm-up zip (every module and socket the big copy uses is then loaded), notes the peak
 * RSS, copies the big one and notes it again: the growth is what the big copy itself needed.
 */
const CHILD = `
const { copyToRegion, createOssStore } = require('./lib.cjs');
process.once('message', async (job) => {
  const store = (bucket, region, endpoint) =>
    createOssStore({ bucket, region, endpoint: new URL(endpoint), credentials: job.credentials, timeoutMs: 300000 });
  const source = store(job.source.bucket, job.source.region, job.source.endpoint);
  const target = { region: job.target.region, store: store(job.target.bucket, job.target.region, job.target.endpoint) };
  const copy = (zip, uploadId) =>
    copyToRegion({ store: source, key: zip.key, head: zip.head, crc64: zip.crc64 }, target, { auditPrefix: '_audit/', concurrency: 4, partBytes: zip.partBytes, uploadId });
  // Sampled: resourceUsage().maxRSS would start at the forking vitest worker's size, which exec keeps.
  const peakDuring = async (work) => {
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      return { result: await work(), peak: Math.max(peak, process.memoryUsage().rss) };
    } finally {
      clearInterval(sampler);
    }
  };
  const warm = await peakDuring(() => copy(job.warm, 'warm'));
  const big = await peakDuring(() => copy(job.big, 'big'));
  process.send({ warm: warm.result, big: big.result, warmPeak: warm.peak, bigPeak: big.peak });
  process.disconnect();
});`;

it('copies a 128 MiB zip in parts with the copying process keeping its memory flat', async () => {
  const warm = await seedZip(home, 'layers/warm.zip', 20 * MiB);
  const big = await seedZip(home, 'layers/big.zip', 128 * MiB);
  const child = fork(join(dir, 'child.cjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answer = new Promise<{ warm: { parts: number }; big: { parts: number; crc64: string }; warmPeak: number; bigPeak: number }>((done, fail) => {
    child.once('message', done as (message: unknown) => void);
    child.once('exit', (code) => fail(new Error(`the copying process exited with ${code} before answering`)));
  });
  const region = (r: RegionOss) => ({ bucket: r.bucket, region: r.region, endpoint: r.server.url });
  child.send({
    credentials: TEST_CREDENTIALS,
    source: region(home),
    target: region(beijing),
    // Warm-up parts of 1 MiB, big ones of 32 MiB, all four in flight at once: buffered, they would show.
    warm: { key: 'layers/warm.zip', head: warm.head, crc64: warm.crc64, partBytes: MiB },
    big: { key: 'layers/big.zip', head: big.head, crc64: big.crc64, partBytes: 32 * MiB },
  });

  const { big: staged, warmPeak, bigPeak } = await answer;

  expect(staged).toMatchObject({ parts: 4, crc64: big.crc64 });
  expect((await beijing.oss.statObject('team-layers-bj', '_audit/staged/big/big.zip.staged'))?.crc64).toBe(big.crc64);
  // Buffered, the four parts in flight would take 128 MiB. Streamed, a part holds socket buffers
  // whatever its size; what grows is garbage of a faster copy (+19 to +22 MiB with parts of 2 to 32 MiB).
  expect(bigPeak - warmPeak).toBeLessThan(48 * MiB);
}, 240_000);
