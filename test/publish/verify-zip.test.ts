import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, PublisherError, TransientError } from '../../src/errors';
import { createOssStore } from '../../src/oss/ali-oss-store';
import type { ObjectHead, ObjectStore } from '../../src/oss/store';
import { MIN_RANGE_BYTES, planRanges } from '../../src/zip';
import { readAndVerifyZip } from '../../src/publish/verify-zip';
import type { OssRequestTarget } from '../../src/emulator';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, startLoopbackCloud, type LoopbackCloud } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { zipSync } from 'fflate';

/** Ranged reads stream large bodies, so these run over a real loopback socket (docs/reference/testing.md §3). */
let cloud: LoopbackCloud;
let store: ObjectStore;

beforeAll(async () => {
  cloud = await startLoopbackCloud();
  store = createOssStore({
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    endpoint: new URL(cloud.ossEndpoint),
    credentials: TEST_CREDENTIALS,
    timeoutMs: 30_000,
  });
});

afterAll(() => cloud?.close());

beforeEach(() => {
  cloud.oss.faults.clear();
  cloud.oss.requests.clear();
});

/** Stored, not deflated: the sizes below are what the ranges split, and building stays fast. */
function storedZip(files: Record<string, Uint8Array>): Buffer {
  return Buffer.from(zipSync(files, { level: 0 }));
}

const KEY = 'layers/big.zip';
/** Four ranges' worth in entries of odd lengths, so that the runs, cut where entries begin, differ. */
const BIG_FILES: Record<string, Uint8Array> = { 'python/big/__init__.py': new Uint8Array() };
for (let part = 0; part < 6; part++) BIG_FILES[`python/big/part${part}.bin`] = patternBytes(Math.floor(MIN_RANGE_BYTES * 0.7) + part * 1_001, part);
const BIG = storedZip(BIG_FILES);
const TAIL_BYTES = 1024 * 1024;

async function seed(bytes: Uint8Array, key = KEY): Promise<ObjectHead> {
  await cloud.oss.putObject(TEST_BUCKET, key, bytes);
  const head = await store.head(key);
  if (head === undefined) throw new Error('seeded object missing');
  return head;
}

function zipGets(key = KEY) {
  return cloud.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === key);
}

const getOf = (key: string) => (target: OssRequestTarget) => target.method === 'GET' && target.key === key;

describe('planRanges', () => {
  it('splits into contiguous ranges covering every byte, never below MIN_RANGE_BYTES', () => {
    for (const [size, concurrency] of [
      [0, 4],
      [MIN_RANGE_BYTES - 1, 4],
      [3 * MIN_RANGE_BYTES + 7, 4],
      [100 * MIN_RANGE_BYTES + 3, 8],
      [100 * MIN_RANGE_BYTES, 1],
    ] as const) {
      const ranges = planRanges(size, concurrency);
      expect(ranges.length).toBe(Math.max(1, Math.min(concurrency, Math.floor(size / MIN_RANGE_BYTES))));
      expect(ranges[0]?.start).toBe(0);
      expect(ranges.at(-1)?.end).toBe(size - 1);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end + 1);
      if (ranges.length > 1) for (const range of ranges) expect(range.end - range.start + 1).toBeGreaterThanOrEqual(MIN_RANGE_BYTES);
    }
  });
});

describe('readAndVerifyZip over ranged GETs', () => {
  it.each([1, 2, 4, 8])('READ_CONCURRENCY=%i reads the tail, then the entries in runs; every byte once', async (concurrency) => {
    const head = await seed(BIG);

    const verified = await readAndVerifyZip(store, KEY, head, { concurrency });

    expect(verified.crc64).toBe(independentCrc64(BIG));
    expect(verified.bytesRead).toBe(BIG.length);
    expect(verified.contents.entryCount).toBe(7);
    const gets = zipGets();
    for (const get of gets) expect(get.headers['if-match']?.replace(/"/g, '')).toBe(head.etag);
    const ranges = gets.map(
      (get) =>
        /bytes=(\d+)-(\d+)/
          .exec(get.headers.range ?? '')!
          .slice(1)
          .map(Number) as [number, number],
    );
    expect(ranges[0]).toEqual([BIG.length - TAIL_BYTES, BIG.length - 1]);
    const runs = ranges.slice(1).sort((a, b) => a[0] - b[0]);
    expect(runs).toHaveLength(Math.min(concurrency, 4));
    expect(runs[0]![0]).toBe(0);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]![0]).toBe(runs[i - 1]![1] + 1);
      // Each run starts at a local header, so that it walks whole entries on its own.
      expect(BIG.readUInt32LE(runs[i]![0])).toBe(0x04034b50);
    }
    expect(runs.at(-1)![1]).toBe(BIG.length - TAIL_BYTES - 1);
  });

  it('a corrupt entry in a later run is ZipInvalid naming the entry, however many runs read it', async () => {
    const corrupt = Buffer.from(BIG);
    const at = corrupt.indexOf(Buffer.from('python/big/part4.bin')) + 'python/big/part4.bin'.length + 1_000;
    corrupt[at] = corrupt[at]! ^ 0xff;
    const head = await seed(corrupt, 'layers/corrupt.zip');

    for (const concurrency of [1, 4]) {
      const failure = await readAndVerifyZip(store, 'layers/corrupt.zip', head, { concurrency }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'ZipInvalid', context: { entry: 'python/big/part4.bin', key: 'layers/corrupt.zip' } });
      expect((failure as Error).message).toMatch(/"python\/big\/part4\.bin" fails its CRC-32 check/);
    }
  });

  it('a small zip is read with one plain GET whatever READ_CONCURRENCY says', async () => {
    const small = storedZip({ 'nodejs/index.js': new Uint8Array([120]) });
    const head = await seed(small, 'layers/small.zip');

    const verified = await readAndVerifyZip(store, 'layers/small.zip', head, { concurrency: 8 });

    expect(verified.crc64).toBe(independentCrc64(small));
    expect(zipGets('layers/small.zip').map((get) => get.headers.range)).toEqual([undefined]);
  });

  it('finds a central directory that lies before the tail window, with ranges', async () => {
    const files: Record<string, Uint8Array> = {};
    // Enough entries that the directory outgrows the 1 MiB tail read first.
    for (let i = 0; i < 14_000; i++) files[`python/pkg/module_with_a_long_name_${i.toString().padStart(6, '0')}.py`] = new Uint8Array();
    files['python/pkg/blob.bin'] = patternBytes(2 * MIN_RANGE_BYTES, 9);
    const zip = storedZip(files);
    const head = await seed(zip, 'layers/many.zip');

    const verified = await readAndVerifyZip(store, 'layers/many.zip', head, { concurrency: 2 });

    expect(verified.crc64).toBe(independentCrc64(zip));
    expect(verified.contents.entryCount).toBe(14_001);
    // The directory's first bytes, before the tail, are read once more only for the directory: no byte twice.
    const ranges = zipGets('layers/many.zip').map((get) => get.headers.range);
    expect(new Set(ranges).size).toBe(ranges.length);
  });

  it('a non-zip stops after its tail and first bytes with ZipInvalid', async () => {
    const notZip = Buffer.concat([Buffer.from([0x1f, 0x8b]), patternBytes(4 * MIN_RANGE_BYTES, 5)]);
    const head = await seed(notZip, 'layers/tar.zip');

    const failure = await readAndVerifyZip(store, 'layers/tar.zip', head, { concurrency: 4 }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(PublisherError);
    expect(failure).toMatchObject({ code: 'ZipInvalid', message: expect.stringMatching(/layers\/tar\.zip.*gzip/) });
    expect(zipGets('layers/tar.zip').map((get) => get.headers.range)).toEqual([`bytes=${notZip.length - TAIL_BYTES}-${notZip.length - 1}`, 'bytes=0-511']);
  });

  it.each([1, 4])('a body cut mid-way is read on from the last byte received (READ_CONCURRENCY=%i)', async (concurrency) => {
    const head = await seed(BIG);
    const requests = cloud.oss.requests.entries.length;
    // The second GET is the first run of entries.
    cloud.oss.faults.inject({ match: getOf(KEY), nth: 2, cutBodyAfterBytes: 100_000 });

    const verified = await readAndVerifyZip(store, KEY, head, { concurrency });

    expect(verified.crc64).toBe(independentCrc64(BIG));
    const gets = cloud.oss.requests.entries.slice(requests).filter(getOf(KEY));
    expect(gets).toHaveLength(1 + concurrency + 1);
    const resumed = gets.at(-1)!;
    expect(resumed.headers['if-match']).toContain(head.etag);
    // The resumed GET starts past the 100,000 bytes that got through, not at the range's start.
    const [, from] = /bytes=(\d+)-/.exec(resumed.headers.range ?? '') ?? [];
    expect(Number(from) % MIN_RANGE_BYTES).toBeGreaterThanOrEqual(100_000 - 65_536);
  });

  it('a body that breaks off on every try is a TransientError naming the key', async () => {
    const head = await seed(BIG);
    cloud.oss.faults.inject({ match: getOf(KEY), cutBodyAfterBytes: 100_000, times: Infinity });

    const failure = await readAndVerifyZip(store, KEY, head, { concurrency: 1 }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toContain(KEY);
  });

  it('a 503 on one range is retryable, and the object replaced under a range is PreconditionFailed', async () => {
    const head = await seed(BIG);
    cloud.oss.faults.inject({ match: getOf(KEY), nth: 2, status: 503, code: 'ServiceUnavailable' });
    const unavailable = await readAndVerifyZip(store, KEY, head, { concurrency: 4 }).catch((error: unknown) => error);
    expect(unavailable).toBeInstanceOf(TransientError);

    // Another key: the aborted reads of the first may still reach the server and count for this fault.
    const other = await seed(BIG, 'layers/replaced.zip');
    cloud.oss.faults.clear();
    cloud.oss.faults.inject({ match: getOf('layers/replaced.zip'), nth: 3, status: 412, code: 'PreconditionFailed' });
    const replaced = await readAndVerifyZip(store, 'layers/replaced.zip', other, { concurrency: 4 }).catch((error: unknown) => error);
    expect(replaced).toBeInstanceOf(PreconditionFailedError);
  });

  it('bytes that differ from the CRC OSS reports are ChecksumMismatch, the CRC combined over the ranges', async () => {
    await cloud.oss.putObject(TEST_BUCKET, KEY, BIG, { withoutCrc: true });
    const head = await store.head(KEY);

    const failure = await readAndVerifyZip(store, KEY, { ...head!, crc64: '12345' }, { concurrency: 4 }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: 'ChecksumMismatch', context: { computed: independentCrc64(BIG), reported: '12345' } });
  });
});
