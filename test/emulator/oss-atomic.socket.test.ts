import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OSS from 'ali-oss';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoopbackServer, type OssBackend, createFolderBackend, createMemoryBackend, createOssEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { independentCrc64, md5Hex, patternBytes } from '../support/independent';
import { type OssClientError, aliOss } from './oss-operations-suite';

/** One version the writer put: what every read must match whole. */
interface Version {
  bytes: Buffer;
  etag: string;
  crc64: string;
}

const KEY = 'layers/hammered.zip';
const OVERWRITES = 40;
/** Different sizes, so a read mixing two versions' bytes or lengths cannot pass for one. */
const versionBytes = (n: number): Buffer => Buffer.from(patternBytes(48 * 1024 + n * 997, n + 1));

function versionOf(bytes: Buffer): Version {
  return { bytes, etag: `"${md5Hex(bytes)}"`, crc64: independentCrc64(bytes) };
}

/** Which version the ETag names; fails the test for one never written. */
function versionNamed(versions: ReadonlyMap<string, Version>, etag: string | undefined): Version {
  const version = versions.get(etag ?? '');
  if (version === undefined) throw new Error(`A read saw ETag ${String(etag)}, which no write produced`);
  return version;
}

/** ali-oss's typings leave response headers untyped. */
function headersOf(result: { res: { headers: object } }): Record<string, string> {
  return result.res.headers as Record<string, string>;
}

interface Tally {
  heads: number;
  gets: number;
  ranged: number;
  listings: number;
}

/** HEAD, GET, ranged GET and listing, over and over until the writer is done; every answer checked. */
async function readWhileWriting(reader: OSS, versions: ReadonlyMap<string, Version>, writing: () => boolean): Promise<Tally> {
  const tally: Tally = { heads: 0, gets: 0, ranged: 0, listings: 0 };
  const failures: string[] = [];
  const notFound = (error: unknown): never => {
    const { status, code } = error as OssClientError;
    throw new Error(`A read of an object that exists answered ${status} ${code ?? ''}`);
  };
  while (writing()) {
    const head = await reader.head(KEY).catch(notFound);
    const headed = versionNamed(versions, headersOf(head).etag);
    expect(Number(headersOf(head)['content-length'])).toBe(headed.bytes.length);
    expect(headersOf(head)['x-oss-hash-crc64ecma']).toBe(headed.crc64);
    tally.heads += 1;

    const got = await reader.get(KEY).catch(notFound);
    const gotten = versionNamed(versions, headersOf(got).etag);
    if (!Buffer.from(got.content as Buffer).equals(gotten.bytes)) failures.push(`GET bytes are not those of ETag ${gotten.etag}`);
    tally.gets += 1;

    const range = { start: 1000, end: 40 * 1024 };
    const ranged = await reader.get(KEY, { headers: { Range: `bytes=${range.start}-${range.end}` } }).catch(notFound);
    const rangedHeaders = headersOf(ranged);
    const rangedVersion = versionNamed(versions, rangedHeaders.etag);
    expect(ranged.res.status).toBe(206);
    expect(rangedHeaders['content-range']).toBe(`bytes ${range.start}-${range.end}/${rangedVersion.bytes.length}`);
    if (!Buffer.from(ranged.content as Buffer).equals(rangedVersion.bytes.subarray(range.start, range.end + 1))) {
      failures.push(`ranged GET bytes are not those of ETag ${rangedVersion.etag}`);
    }
    tally.ranged += 1;

    const listed = (await reader.list({ prefix: 'layers/', 'max-keys': 10 }, {})).objects ?? [];
    expect(listed.map((object) => object.name)).toEqual([KEY]);
    const listedVersion = versionNamed(versions, listed[0]?.etag);
    expect(listed[0]?.size).toBe(listedVersion.bytes.length);
    tally.listings += 1;
  }
  expect(failures).toEqual([]);
  return tally;
}

const backends: Record<string, () => Promise<{ backend: OssBackend; cleanUp: () => Promise<void> }>> = {
  memory: async () => ({ backend: createMemoryBackend(), cleanUp: async () => undefined }),
  folder: async () => {
    const root = await mkdtemp(join(tmpdir(), 'oss-atomic-'));
    return { backend: createFolderBackend(root), cleanUp: () => rm(root, { recursive: true, force: true }) };
  },
};

describe.each(Object.keys(backends))('the local OSS on the %s backend is atomic under overwrites', (name) => {
  let server: LoopbackServer | undefined;
  let cleanUp: () => Promise<void> = async () => undefined;
  afterEach(async () => {
    await server?.close();
    await cleanUp();
  });

  it('answers HEAD, GET, ranged GET and listing with one whole version each, and never 404, while another client overwrites', async () => {
    const made = await backends[name]!();
    cleanUp = made.cleanUp;
    const oss = createOssEmulator({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      credentials: [TEST_CREDENTIALS],
      backend: made.backend,
      buckets: [TEST_BUCKET],
    });
    server = await serve(oss.handle);
    const writer = aliOss(server.url, { addressing: 'path' });
    const reader = aliOss(server.url, { addressing: 'host', v4: true });

    const versions = new Map<string, Version>();
    const first = versionOf(versionBytes(0));
    versions.set(first.etag, first);
    await writer.put(KEY, first.bytes);
    for (let n = 1; n <= OVERWRITES; n += 1) {
      const version = versionOf(versionBytes(n));
      versions.set(version.etag, version);
    }

    let writing = true;
    const written = (async () => {
      try {
        for (const version of [...versions.values()].slice(1)) {
          const put = await writer.put(KEY, version.bytes);
          expect(headersOf(put).etag).toBe(version.etag);
        }
      } finally {
        writing = false;
      }
    })();
    const [tally] = await Promise.all([readWhileWriting(reader, versions, () => writing), written]);

    // The reads overlapped the overwrites: several of each kind ran before the last write landed.
    expect(tally.heads).toBeGreaterThan(2);
    expect(tally.listings).toBeGreaterThan(2);
    const last = [...versions.values()].at(-1)!;
    expect(Buffer.from((await reader.get(KEY)).content as Buffer).equals(last.bytes)).toBe(true);
  });
});
