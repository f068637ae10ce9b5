import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Crc64 } from '../../src/checksum/crc64';
import { PreconditionFailedError, TransientError } from '../../src/errors';
import { stagedKey } from '../../src/audit/layout';
import { StagedCopyMismatchError, copyToRegion, type CopyOptions, type CopySource } from '../../src/regions/copy';
import { ZipSpool } from '../../src/regions/spool';
import { type RegionOss, corruptingBodies, seedZip, startRegionOss } from './region-clouds';

const KiB = 1024;
const UPLOAD_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const ZIP_KEY = 'layers/team/pillow.zip';
const STAGED_KEY = `_audit/staged/${UPLOAD_ID}/pillow.zip.staged`;
/** Small thresholds, so parts show with zips of a few hundred KiB. */
const IN_PARTS: CopyOptions = { uploadId: UPLOAD_ID, auditPrefix: '_audit/', multipartFromBytes: 256 * KiB, partBytes: 128 * KiB, concurrency: 3 };
const ONE_PUT: CopyOptions = { ...IN_PARTS, multipartFromBytes: 64 * 1024 * KiB };

let home: RegionOss;
let shanghai: RegionOss;
/** Set by a test to corrupt one byte of the target's request bodies (PUT and UploadPart) in flight. */
let corrupt: ((url: URL) => boolean) | undefined;

beforeEach(async () => {
  corrupt = undefined;
  home = await startRegionOss('cn-hangzhou', 'team-layers');
  shanghai = await startRegionOss(
    'cn-shanghai',
    'team-layers-sh',
    corruptingBodies(1000, (url) => corrupt?.(url) ?? false),
  );
});
afterEach(async () => {
  await Promise.all([home.server.close(), shanghai.server.close()]);
});

async function source(size: number): Promise<CopySource & { bytes: Buffer }> {
  const seeded = await seedZip(home, ZIP_KEY, size);
  return { store: home.store, key: ZIP_KEY, head: seeded.head, crc64: seeded.crc64, bytes: seeded.bytes };
}

const target = () => ({ region: shanghai.region, store: shanghai.store });
const writes = (region: RegionOss) => region.oss.requests.filter((r) => r.method === 'PUT' || r.method === 'POST');
const crcOf = (bytes: Uint8Array) => new Crc64().update(bytes).digest();
/** Buffer.equals: vitest's deep equality walks a Buffer byte by byte, seconds for a MiB. */
const stagedBytesEqual = async (bytes: Buffer) => Buffer.from((await shanghai.oss.readObject('team-layers-sh', STAGED_KEY)) ?? []).equals(bytes);

describe('the staged key', () => {
  it('names the upload, sits under the audit prefix and can trigger nothing', () => {
    const key = stagedKey('_audit/', UPLOAD_ID, ZIP_KEY);
    expect(key).toBe(STAGED_KEY);
    expect(key.endsWith('.zip') || key.endsWith('.layer.json')).toBe(false);
    expect(() => stagedKey('_audit/', '../x', ZIP_KEY)).toThrow(/upload id/);
  });
});

describe('copyToRegion', () => {
  it('sends a small zip in one PUT and counts it once the target reports the verified CRC-64', async () => {
    const zip = await source(200 * KiB);

    const staged = await copyToRegion(zip, target(), ONE_PUT);

    expect(staged).toEqual({ region: 'cn-shanghai', bucket: 'team-layers-sh', key: STAGED_KEY, size: 200 * KiB, crc64: zip.crc64, reused: false, parts: 0 });
    expect(await stagedBytesEqual(zip.bytes)).toBe(true);
    expect(writes(shanghai).map((r) => [r.method, Object.keys(r.query)])).toEqual([['PUT', []]]);
  });

  it('sends a large zip in parts, at most `concurrency` at once, each a ranged read of the source', async () => {
    const zip = await source(1000 * KiB);
    shanghai.oss.faults.inject({ match: (r) => 'partNumber' in r.query, delayMs: 150, times: Infinity });
    let inFlight = 0;
    let most = 0;
    const counting = { ...shanghai.store };
    counting.uploadPart = async (...args) => {
      most = Math.max(most, ++inFlight);
      try {
        return await shanghai.store.uploadPart(...args);
      } finally {
        inFlight--;
      }
    };

    const staged = await copyToRegion(zip, { region: 'cn-shanghai', store: counting }, IN_PARTS);

    expect(staged).toMatchObject({ crc64: zip.crc64, parts: 8, reused: false });
    expect(await stagedBytesEqual(zip.bytes)).toBe(true);
    expect(most).toBe(3);
    const ranged = home.oss.requests.filter((r) => r.method === 'GET' && r.headers.range !== undefined);
    expect(ranged.map((r) => r.headers.range).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `bytes=${i * 128 * KiB}-${Math.min(1000 * KiB, (i + 1) * 128 * KiB) - 1}`).sort(),
    );
    expect((await shanghai.oss.statObject('team-layers-sh', STAGED_KEY))?.objectType).toBe('Multipart');
  });

  it('aborts the multipart upload when a part arrives corrupt, naming the region and both CRCs', async () => {
    const zip = await source(600 * KiB);
    corrupt = (url) => url.searchParams.get('partNumber') === '2';

    const failure = await copyToRegion(zip, target(), IN_PARTS).catch((error: unknown) => error);

    const corrupted = Buffer.from(zip.bytes);
    corrupted[128 * KiB + 1000]! ^= 0xff;
    expect(failure).toBeInstanceOf(StagedCopyMismatchError);
    expect((failure as StagedCopyMismatchError).retryable).toBe(true);
    const message = (failure as Error).message;
    expect(message).toContain('cn-shanghai');
    expect(message).toContain(zip.crc64);
    expect(message).toContain(crcOf(corrupted));
    expect(await shanghai.oss.statObject('team-layers-sh', STAGED_KEY)).toBeUndefined();
    expect(shanghai.oss.requests.filter((r) => r.method === 'DELETE' && 'uploadId' in r.query)).toHaveLength(1);
    expect(writes(shanghai).some((r) => r.method === 'POST' && 'uploadId' in r.query)).toBe(false);
  });

  it('refuses a single PUT stored with other bytes, and the retry replaces that stage', async () => {
    const zip = await source(200 * KiB);
    corrupt = () => true;

    const failure = await copyToRegion(zip, target(), ONE_PUT).catch((error: unknown) => error);

    const corrupted = Buffer.from(zip.bytes);
    corrupted[1000]! ^= 0xff;
    expect(failure).toBeInstanceOf(StagedCopyMismatchError);
    expect((failure as Error).message).toContain(`CRC-64 ${crcOf(corrupted)}, not ${zip.crc64}`);

    corrupt = undefined;
    const staged = await copyToRegion(zip, target(), ONE_PUT);
    expect(staged).toMatchObject({ reused: false, crc64: zip.crc64 });
    expect(await stagedBytesEqual(zip.bytes)).toBe(true);
  });

  it.each([
    ['one PUT', ONE_PUT, 1],
    ['parts', IN_PARTS, 2],
  ])('reports a broken source read (%s) as the source failing, and leaves no staged object', async (_name, options, nth) => {
    const zip = await source(600 * KiB);
    home.oss.faults.inject({ match: (r) => r.method === 'GET' && r.key === ZIP_KEY, nth, times: Infinity, cutBodyAfterBytes: 50 * KiB });

    const failure = await copyToRegion(zip, target(), options).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toMatch(/^reading .*team-layers\/layers\/team\/pillow\.zip for the copy to cn-shanghai broke/);
    expect(await shanghai.oss.statObject('team-layers-sh', STAGED_KEY)).toBeUndefined();
  });

  it('retries only the part that failed', async () => {
    const zip = await source(600 * KiB);
    // The part is stored but its answer is lost: sending it again under the same number replaces it.
    shanghai.oss.faults.inject({ match: (r) => r.query.partNumber === '3', status: 503, code: 'ServiceUnavailable', afterHandling: true });

    const staged = await copyToRegion(zip, target(), IN_PARTS);

    expect(staged).toMatchObject({ crc64: zip.crc64, parts: 5 });
    const stored = writes(shanghai).filter((r) => 'partNumber' in r.query && r.status === 200);
    expect(stored.map((r) => r.query.partNumber).sort()).toEqual(['1', '2', '3', '4', '5']);
    expect(shanghai.oss.requests.filter((r) => r.query.partNumber === '3' && r.status === 503)).toHaveLength(1);
  });

  it('finds the object when the answer of Complete was lost and its retry meets NoSuchUpload', async () => {
    const zip = await source(600 * KiB);
    shanghai.oss.faults.inject({ match: (r) => r.method === 'POST' && 'uploadId' in r.query, status: 503, afterHandling: true });

    const staged = await copyToRegion(zip, target(), IN_PARTS);

    expect(staged).toMatchObject({ crc64: zip.crc64, parts: 5, reused: false });
    const completes = shanghai.oss.requests.filter((r) => r.method === 'POST' && 'uploadId' in r.query);
    expect(completes.map((r) => [r.status, r.code])).toEqual([
      [503, 'InternalError'],
      [404, 'NoSuchUpload'],
    ]);
    expect(await stagedBytesEqual(zip.bytes)).toBe(true);
  });

  it('leaves retrying to the caller when given a retry', async () => {
    const zip = await source(600 * KiB);
    shanghai.oss.faults.inject({ match: (r) => r.query.partNumber === '3', status: 503, code: 'ServiceUnavailable', afterHandling: true });
    let wrapped = 0;
    const once = <T>(operation: () => Promise<T>): Promise<T> => {
      wrapped++;
      return operation();
    };

    await expect(copyToRegion(zip, target(), { ...IN_PARTS, retry: once })).rejects.toThrow(/UploadPart .* HTTP 503/);
    expect(wrapped).toBeGreaterThanOrEqual(4);
    expect(shanghai.oss.requests.filter((r) => r.query.partNumber === '3')).toHaveLength(1);
    expect(shanghai.oss.requests.filter((r) => r.method === 'DELETE' && 'uploadId' in r.query)).toHaveLength(1);
  });

  it('reuses the stage a previous attempt completed: no byte is sent again', async () => {
    const zip = await source(600 * KiB);
    await copyToRegion(zip, target(), IN_PARTS);
    const before = writes(shanghai).length;
    const readsBefore = home.oss.requests.filter((r) => r.method === 'GET').length;

    const again = await copyToRegion(zip, target(), IN_PARTS);

    expect(again).toMatchObject({ reused: true, crc64: zip.crc64, key: STAGED_KEY });
    expect(writes(shanghai)).toHaveLength(before);
    expect(home.oss.requests.filter((r) => r.method === 'GET')).toHaveLength(readsBefore);
  });

  it('does not reuse a stage of the same size holding other bytes', async () => {
    const zip = await source(200 * KiB);
    await shanghai.oss.putObject('team-layers-sh', STAGED_KEY, Buffer.alloc(200 * KiB, 7));

    const staged = await copyToRegion(zip, target(), ONE_PUT);

    expect(staged.reused).toBe(false);
    expect(await stagedBytesEqual(zip.bytes)).toBe(true);
  });

  it('stops at a source replaced since it was verified (If-Match), sending nothing', async () => {
    const zip = await source(200 * KiB);
    await seedZip(home, ZIP_KEY, 200 * KiB);

    await expect(copyToRegion(zip, target(), ONE_PUT)).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await shanghai.oss.statObject('team-layers-sh', STAGED_KEY)).toBeUndefined();
  });

  it.each([
    ['one PUT', ONE_PUT],
    ['parts', IN_PARTS],
  ])('stops at a source replaced while the spool fills its gap from OSS (%s): stale, not a broken read to retry', async (_name, options) => {
    const zip = await source(600 * KiB);
    const spool = (await ZipSpool.open(home.store, ZIP_KEY, zip.head))!;
    try {
      // The verification read only the tail, then the zip was replaced: the rest must come from OSS.
      const tail = await spool.tap().stream(ZIP_KEY, { ifMatch: zip.head.etag, range: { start: 500 * KiB, end: 600 * KiB - 1 } });
      for await (const _chunk of tail.body) {
        // drained: the spool writes what passes
      }
      await seedZip(home, ZIP_KEY, 600 * KiB);
      spool.finish();
      const zipReads = () => home.oss.requests.filter((r) => r.method === 'GET' && r.key === ZIP_KEY).length;
      const readsBefore = zipReads();

      const failure = await copyToRegion({ ...zip, store: spool.reader() }, target(), options).catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(PreconditionFailedError);
      // Each read meets If-Match once: none is retried, for no retry can read the replaced version.
      expect(zipReads() - readsBefore).toBeLessThanOrEqual(options === IN_PARTS ? options.concurrency! : 1);
      expect(await shanghai.oss.statObject('team-layers-sh', STAGED_KEY)).toBeUndefined();
    } finally {
      await spool.close();
    }
  });
});
