import { Readable } from 'node:stream';
import type OSS from 'ali-oss';
import { describe, expect, it } from 'vitest';
import type { OssEventRecord } from '../../src/emulator';
import { TEST_BUCKET, TEST_CREDENTIALS, type TestCloud } from '../support/cloud';
import { type OssClientOptions, ossClient } from '../support/clients';
import { independentCrc64, md5Hex, patternBytes } from '../support/independent';

/** ali-oss errors carry the parsed OSS error; the @types do not describe them. */
interface OssClientError {
  status: number;
  code?: string;
  message: string;
}

async function ossFailure(call: Promise<unknown>): Promise<OssClientError> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as OssClientError;
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** The OSS behaviour every transport must show, driven through the real ali-oss client. */
export function describeOssEmulator(currentCloud: () => TestCloud): void {
  const client = (options: Partial<OssClientOptions> = {}): OSS => ossClient({ endpoint: currentCloud().ossEndpoint, ...options });

  describe('objects', () => {
    it('stores a PUT and returns its bytes, MD5 ETag and CRC-64 on GET and HEAD', async () => {
      const bytes = patternBytes(70_000);
      const put = await client().put('layers/a.zip', Buffer.from(bytes));
      const etag = `"${md5Hex(bytes)}"`;
      const crc = independentCrc64(bytes);
      expect(put.res.headers).toMatchObject({ etag, 'x-oss-hash-crc64ecma': crc });

      const got = await client().get('layers/a.zip');
      expect(Buffer.compare(got.content as Buffer, Buffer.from(bytes))).toBe(0);
      expect(got.res.headers).toMatchObject({ etag, 'x-oss-hash-crc64ecma': crc, 'content-length': '70000', 'x-oss-object-type': 'Normal' });

      const head = await client().head('layers/a.zip');
      expect(head.res.headers).toMatchObject({ etag, 'x-oss-hash-crc64ecma': crc, 'content-type': 'application/zip' });
      expect(new Date((head.res.headers as Record<string, string>)['last-modified']!).getTime()).toBe(
        (await currentCloud().oss.statObject(TEST_BUCKET, 'layers/a.zip'))!.lastModified.getTime(),
      );
    });

    it('keeps keys with spaces, plus signs and CJK verbatim', async () => {
      const key = 'layers/团队 a+b/层 1+1.zip';
      await client().put(key, text('unicode'));
      expect(await currentCloud().oss.listKeys(TEST_BUCKET)).toEqual([key]);
      expect((await client().head(key)).status).toBe(200);
      expect((await client().get(key)).content.toString()).toBe('unicode');
    });

    it('accepts a chunked putStream', async () => {
      const bytes = patternBytes(300_000, 7);
      const put = await client().putStream('stream.bin', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      expect(put.res.status).toBe(200);
      expect(await currentCloud().oss.readObject(TEST_BUCKET, 'stream.bin')).toEqual(Buffer.from(bytes));
    });

    it('serves a range as 206 with Content-Range and the whole object\'s CRC', async () => {
      await client().put('r.txt', text('0123456789'));
      const ranged = await client().getStream('r.txt', { headers: { Range: 'bytes=2-6' } });
      expect(ranged.res.status).toBe(206);
      expect((await drain(ranged.stream)).toString()).toBe('23456');
      expect(ranged.res.headers).toMatchObject({ 'content-range': 'bytes 2-6/10', 'x-oss-hash-crc64ecma': independentCrc64(text('0123456789')) });
    });

    it('ignores an unsatisfiable range unless x-oss-range-behavior is standard', async () => {
      await client().put('r.txt', text('0123456789'));
      const ignored = await client().get('r.txt', { headers: { Range: 'bytes=20-30' } });
      expect(ignored.res.status).toBe(200);
      expect(ignored.content.toString()).toBe('0123456789');

      const clipped = await client().get('r.txt', { headers: { Range: 'bytes=5-30', 'x-oss-range-behavior': 'standard' } });
      expect(clipped.res.status).toBe(206);
      expect(clipped.content.toString()).toBe('56789');

      const refused = await ossFailure(client().get('r.txt', { headers: { Range: 'bytes=20-30', 'x-oss-range-behavior': 'standard' } }));
      expect(refused).toMatchObject({ status: 416, code: 'InvalidRange' });
    });

    it('answers If-Match mismatches with 412 and If-None-Match matches with 304', async () => {
      const put = await client().put('c.txt', text('v1'));
      const etag = (put.res.headers as Record<string, string>).etag!;
      expect((await client().get('c.txt', { headers: { 'If-Match': etag } })).content.toString()).toBe('v1');
      expect(await ossFailure(client().get('c.txt', { headers: { 'If-Match': '"0123456789ABCDEF0123456789ABCDEF"' } }))).toMatchObject({
        status: 412,
        code: 'PreconditionFailed',
      });
      expect((await client().getStream('c.txt', { headers: { 'If-None-Match': etag } })).res.status).toBe(304);
    });

    it('refuses to overwrite with x-oss-forbid-overwrite: true, and overwrites without it', async () => {
      await client().put('once.txt', text('first'));
      const refused = await ossFailure(client().put('once.txt', text('second'), { headers: { 'x-oss-forbid-overwrite': 'true' } }));
      expect(refused).toMatchObject({ status: 409, code: 'FileAlreadyExists' });
      expect((await client().get('once.txt')).content.toString()).toBe('first');
      await client().put('once.txt', text('third'), { headers: { 'x-oss-forbid-overwrite': 'false' } });
      expect((await client().get('once.txt')).content.toString()).toBe('third');
    });

    it('refuses a body that does not match its Content-MD5, and a conditional PUT', async () => {
      const wrongMd5 = Buffer.alloc(16).toString('base64');
      expect(await ossFailure(client().put('md5.txt', text('body'), { headers: { 'Content-MD5': wrongMd5 } }))).toMatchObject({
        status: 400,
        code: 'InvalidDigest',
      });
      expect(await ossFailure(client().put('md5.txt', text('body'), { headers: { 'If-None-Match': '*' } }))).toMatchObject({
        status: 400,
        code: 'NotImplemented',
      });
      expect(await currentCloud().oss.listKeys(TEST_BUCKET)).toEqual([]);
    });

    it('answers missing keys and buckets with 404, and deletes', async () => {
      expect(await ossFailure(client().get('nothing.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
      expect(await ossFailure(client().head('nothing.txt'))).toMatchObject({ status: 404 });
      expect(await ossFailure(client({ bucket: 'no-such-bucket' }).get('x'))).toMatchObject({ status: 404, code: 'NoSuchBucket' });
      await client().put('d.txt', text('x'));
      await client().delete('d.txt');
      expect(await currentCloud().oss.statObject(TEST_BUCKET, 'd.txt')).toBeUndefined();
    });

    it('serves a seeded object without CRC with no x-oss-hash-crc64ecma header', async () => {
      await currentCloud().oss.putObject(TEST_BUCKET, 'legacy.zip', text('old'), { withoutCrc: true });
      const got = await client().get('legacy.zip');
      expect(got.content.toString()).toBe('old');
      expect(got.res.headers).not.toHaveProperty('x-oss-hash-crc64ecma');
    });
  });

  describe('multipart upload', () => {
    it('assembles parts into one object with the multipart ETag and fires CompleteMultipartUpload', async () => {
      const events: OssEventRecord[] = [];
      currentCloud().oss.onObjectCreated((record) => events.push(record));
      const partSize = 100 * 1024;
      const bytes = patternBytes(partSize * 2 + 5000, 3);
      const result = await client().multipartUpload('big/m.zip', Buffer.from(bytes), { partSize });

      const partDigests = [0, 1, 2].map((index) => Buffer.from(md5Hex(bytes.subarray(index * partSize, (index + 1) * partSize)), 'hex'));
      const expectedEtag = `"${md5Hex(Buffer.concat(partDigests))}-3"`;
      expect(result.etag).toBe(expectedEtag);
      expect(result.res.headers).toMatchObject({ 'x-oss-hash-crc64ecma': independentCrc64(bytes) });

      const head = await client().head('big/m.zip');
      expect(head.res.headers).toMatchObject({ etag: expectedEtag, 'x-oss-object-type': 'Multipart', 'x-oss-hash-crc64ecma': independentCrc64(bytes) });
      expect(await currentCloud().oss.readObject(TEST_BUCKET, 'big/m.zip')).toEqual(Buffer.from(bytes));
      expect(events.map((event) => [event.eventName, event.oss.object.eTag, event.oss.object.size])).toEqual([
        ['ObjectCreated:CompleteMultipartUpload', expectedEtag.slice(1, -1), bytes.length],
      ]);
    });

    it('refuses a completion naming a part that was not uploaded, and an aborted upload', async () => {
      const { uploadId } = await client().initMultipartUpload('p.bin');
      const part = await client().uploadPart('p.bin', uploadId, 1, Buffer.from(patternBytes(10)), 0, 10);
      expect(await ossFailure(client().completeMultipartUpload('p.bin', uploadId, [{ number: 2, etag: part.etag }]))).toMatchObject({
        status: 400,
        code: 'InvalidPart',
      });
      await client().abortMultipartUpload('p.bin', uploadId);
      expect(await ossFailure(client().completeMultipartUpload('p.bin', uploadId, [{ number: 1, etag: part.etag }]))).toMatchObject({
        status: 404,
        code: 'NoSuchUpload',
      });
    });
  });

  describe('listing', () => {
    const keys = ['a/1.zip', 'a/2.zip', 'b/1.result.json', 'b/2.result.json', 'c.zip'];

    it('pages ListObjects with marker, prefix and delimiter', async () => {
      for (const key of keys) await currentCloud().oss.putObject(TEST_BUCKET, key, text(key));
      const first = await client().list({ 'max-keys': 2, delimiter: '/' }, {});
      expect([first.objects, first.prefixes, first.isTruncated]).toEqual([[], ['a/', 'b/'], true]);
      const second = await client().list({ 'max-keys': 2, delimiter: '/', marker: first.nextMarker! }, {});
      expect([second.objects.map((o) => o.name), second.prefixes, second.isTruncated]).toEqual([['c.zip'], null, false]);

      const underB = await client().list({ prefix: 'b/', 'max-keys': 10 }, {});
      expect(underB.objects.map((o) => [o.name, o.size])).toEqual([
        ['b/1.result.json', 15],
        ['b/2.result.json', 15],
      ]);
    });

    it('pages ListObjectsV2 with continuation tokens', async () => {
      for (const key of keys) await currentCloud().oss.putObject(TEST_BUCKET, key, text(key));
      const names: string[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await client().listV2({ 'max-keys': '2', ...(continuationToken ? { 'continuation-token': continuationToken } : {}) }, {});
        names.push(...page.objects.map((o) => o.name));
        continuationToken = page.nextContinuationToken ?? undefined;
      } while (continuationToken !== undefined);
      expect(names).toEqual(keys);
    });
  });

  describe('signatures', () => {
    it('refuses a wrong secret, a wrong token, an unknown key and a skewed clock, echoing no secret', async () => {
      await currentCloud().oss.putObject(TEST_BUCKET, 'k', text('x'));
      const cases: Array<[Partial<OssClientOptions>, string]> = [
        [{ accessKeySecret: 'not-the-secret' }, 'SignatureDoesNotMatch'],
        [{ stsToken: 'not-the-token' }, 'InvalidAccessKeyId'],
        [{ accessKeyId: 'STS.unknown' }, 'InvalidAccessKeyId'],
        [{ clockOffsetMs: 16 * 60 * 1000 }, 'RequestTimeTooSkewed'],
      ];
      for (const [options, code] of cases) {
        const failure = await ossFailure(client(options).get('k'));
        expect(failure, code).toMatchObject({ status: 403, code });
        expect(failure.message).not.toContain(TEST_CREDENTIALS.accessKeySecret);
        expect(failure.message).not.toContain(TEST_CREDENTIALS.securityToken);
      }
      expect((await client({ clockOffsetMs: 14 * 60 * 1000 }).get('k')).content.toString()).toBe('x');
    });

    it('refuses anonymous requests with AccessDenied', async () => {
      await currentCloud().oss.putObject(TEST_BUCKET, 'k', text('x'));
      const endpoint = new URL(currentCloud().ossEndpoint);
      const url = endpoint.hostname === '127.0.0.1' ? `${endpoint.origin}/${TEST_BUCKET}/k` : `${endpoint.protocol}//${TEST_BUCKET}.${endpoint.host}/k`;
      const response = await fetch(url);
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('<Code>AccessDenied</Code>');
    });
  });

  describe('test knobs', () => {
    it('records requests without credentials', async () => {
      await client().put('log.txt', text('x'));
      await ossFailure(client().get('missing.txt'));
      const log = currentCloud().oss.requests.entries;
      expect(log.map(({ method, key, status, code }) => ({ method, key, status, code }))).toEqual([
        { method: 'PUT', key: 'log.txt', status: 200, code: undefined },
        { method: 'GET', key: 'missing.txt', status: 404, code: 'NoSuchKey' },
      ]);
      expect(JSON.stringify(log)).not.toContain(TEST_CREDENTIALS.securityToken);
      expect(log[0]?.headers).not.toHaveProperty('authorization');
    });

    it('answers the nth matching request with an injected error', async () => {
      await client().put('f.txt', text('x'));
      currentCloud().oss.faults.inject({ match: (r) => r.method === 'GET' && r.key === 'f.txt', nth: 2, status: 503, code: 'ServiceUnavailable' });
      expect((await client().get('f.txt')).content.toString()).toBe('x');
      expect(await ossFailure(client().get('f.txt'))).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
      expect((await client().get('f.txt')).content.toString()).toBe('x');
    });

    it('can let a write happen and still answer with an error', async () => {
      currentCloud().oss.faults.inject({ match: (r) => r.method === 'PUT', status: 500, code: 'InternalError', afterHandling: true });
      expect(await ossFailure(client().put('lost.txt', text('x')))).toMatchObject({ status: 500 });
      expect(await currentCloud().oss.readObject(TEST_BUCKET, 'lost.txt')).toEqual(text('x'));
    });

    it('cuts a GET body after N bytes', async () => {
      await client().put('cut.bin', Buffer.from(patternBytes(200_000)));
      currentCloud().oss.faults.inject({ match: (r) => r.key === 'cut.bin', cutBodyAfterBytes: 1000 });
      const read = client()
        .getStream('cut.bin')
        .then(({ stream }) => drain(stream));
      await expect(read).rejects.toThrow();
    });

    it('reports created objects as OSS trigger records shaped like the shared fixture', async () => {
      const fixture = (await import('../events/fixtures/put-zip.json', { with: { type: 'json' } })).default.events[0]!;
      const events: OssEventRecord[] = [];
      currentCloud().oss.onObjectCreated((record) => events.push(record));
      const bytes = patternBytes(421);
      await client().put('layers/pillow-10.zip', Buffer.from(bytes));
      const [record] = events;
      expect(shapeOf(record)).toEqual(shapeOf(fixture));
      expect(record?.oss.object).toEqual({ key: 'layers/pillow-10.zip', eTag: md5Hex(bytes), size: 421, deltaSize: 421 });
      expect(record?.oss.bucket.arn).toBe(fixture.oss.bucket.arn);
      expect(record?.eventName).toBe('ObjectCreated:PutObject');
      expect(await currentCloud().oss.objectCreatedEvent(TEST_BUCKET, 'layers/pillow-10.zip')).toMatchObject({ oss: { object: record?.oss.object } });
    });
  });
}

/** Field names and value types, recursively: two records with the same shape. */
function shapeOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shapeOf(inner)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}
