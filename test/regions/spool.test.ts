import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ObjectHead, StreamOptions } from '../../src/oss/store';
import { ZipSpool, type ZipReader } from '../../src/regions/spool';

const KEY = 'layers/x.zip';

/** A bucket holding `bytes` at KEY, sending bodies in `chunk`-byte pieces and counting what it sends. */
function bucketOf(bytes: Buffer, chunk = 4096) {
  const sent: Array<{ start: number; end: number }> = [];
  const head: ObjectHead = { etag: 'ETAG1', size: bytes.length, lastModified: new Date(0).toUTCString() } as ObjectHead;
  const reader: ZipReader = {
    bucket: 'home',
    stream: async (key: string, options: StreamOptions) => {
      if (key !== KEY || options.ifMatch !== head.etag) throw new Error(`unexpected read of ${key}`);
      const start = options.range?.start ?? 0;
      const end = options.range?.end ?? bytes.length - 1;
      sent.push({ start, end });
      const pieces: Buffer[] = [];
      for (let at = start; at <= end; at += chunk) pieces.push(bytes.subarray(at, Math.min(end + 1, at + chunk)));
      return { body: Readable.from(pieces), head };
    },
  };
  return { reader, head, sent };
}

async function drain(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('the zip spooled to disk as it is verified', () => {
  it('serves any range from what the verification read, waiting for bytes not read yet, without reading OSS again', async () => {
    const bytes = randomBytes(300_000);
    const { reader, head, sent } = bucketOf(bytes);
    const spool = (await ZipSpool.open(reader, KEY, head))!;
    try {
      const copy = spool.reader();
      // The copies ask first; the verification's reads (tail first, then two runs at once) come later.
      const asked = [
        drain((await copy.stream(KEY, { ifMatch: 'ETAG1' })).body),
        drain((await copy.stream(KEY, { ifMatch: 'ETAG1', range: { start: 1000, end: 250_000 } })).body),
      ];
      const tap = spool.tap();
      await drain((await tap.stream(KEY, { ifMatch: 'ETAG1', range: { start: 200_000, end: 299_999 } })).body);
      await Promise.all([
        drain((await tap.stream(KEY, { ifMatch: 'ETAG1', range: { start: 0, end: 99_999 } })).body),
        drain((await tap.stream(KEY, { ifMatch: 'ETAG1', range: { start: 100_000, end: 199_999 } })).body),
      ]);
      const [whole, part] = await Promise.all(asked);
      expect(whole!.equals(bytes)).toBe(true);
      expect(part!.equals(bytes.subarray(1000, 250_001))).toBe(true);
      expect(sent).toHaveLength(3);
    } finally {
      await spool.close();
    }
  });

  it('once the verification is over, what it never read comes from OSS, with the same If-Match', async () => {
    const bytes = randomBytes(50_000);
    const { reader, head, sent } = bucketOf(bytes);
    const spool = (await ZipSpool.open(reader, KEY, head))!;
    try {
      // The verification reads only the middle (a stub before the first entry is never read).
      await drain((await spool.tap().stream(KEY, { ifMatch: 'ETAG1', range: { start: 10_000, end: 39_999 } })).body);
      const reading = drain((await spool.reader().stream(KEY, { ifMatch: 'ETAG1' })).body);
      spool.finish();
      expect((await reading).equals(bytes)).toBe(true);
      expect(sent.slice(1)).toEqual([
        { start: 0, end: 9_999 },
        { start: 40_000, end: 49_999 },
      ]);
    } finally {
      await spool.close();
    }
  });

  it('leaves nothing on disk once closed, and no spool when the disk has no room', async () => {
    const { reader, head } = bucketOf(randomBytes(10));
    const dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
    const spool = (await ZipSpool.open(reader, KEY, head, dir))!;
    expect(await readdir(dir)).toHaveLength(1);
    await spool.close();
    expect(await readdir(dir)).toEqual([]);
    await rm(dir, { recursive: true });
    expect(await ZipSpool.open(reader, KEY, { ...head, size: Number.MAX_SAFE_INTEGER })).toBeUndefined();
  });
});
