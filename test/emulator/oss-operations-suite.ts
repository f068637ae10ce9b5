import OSS from 'ali-oss';
import { describe, expect, it } from 'vitest';
import type { OssEventRecord } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type TestCloud } from '../support/cloud';
import { independentCrc64, md5Hex, patternBytes } from '../support/independent';

/**
 * How a client names the bucket: `path` is `/<bucket>/<key>` (ali-oss `sldEnable`), `host` is an IP
 * endpoint without `sldEnable` (the bucket only in the Host header), `virtual` a cloud host name.
 */
export type Addressing = 'path' | 'host' | 'virtual';

export interface AliOssOptions {
  addressing: Addressing;
  bucket?: string;
  /** ali-oss `authorizationV4` (OSS4-HMAC-SHA256); V1 otherwise. */
  v4?: boolean;
}

/** An ali-oss client for the test account, configured as a user would for that addressing. */
export function aliOss(endpoint: string, { addressing, bucket = TEST_BUCKET, v4 = false }: AliOssOptions): OSS {
  const options: OSS.Options & { sldEnable?: boolean; authorizationV4?: boolean } = {
    region: `oss-${TEST_REGION}`,
    endpoint,
    bucket,
    accessKeyId: TEST_CREDENTIALS.accessKeyId,
    accessKeySecret: TEST_CREDENTIALS.accessKeySecret,
    stsToken: TEST_CREDENTIALS.securityToken,
    // Silences ali-oss's per-client warning about STS tokens without a refresh (docs/reference/alibaba-cloud.md §0.14).
    refreshSTSTokenInterval: 24 * 60 * 60 * 1000,
    sldEnable: addressing === 'path',
    authorizationV4: v4,
  };
  return new OSS(options);
}

/** ali-oss errors carry the parsed OSS error; the @types do not describe them. */
export interface OssClientError {
  status: number;
  code?: string;
  name?: string;
  message: string;
  headers?: Record<string, string>;
}

export async function ossFailure(call: Promise<unknown>): Promise<OssClientError> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as OssClientError;
}

/** A part as ListParts returns it: xml2js gives one element as an object and several as an array. */
interface ListedPart {
  PartNumber: string;
  Size: string;
  ETag: string;
  HashCrc64ecma: string;
}

async function listParts(
  client: OSS,
  key: string,
  uploadId: string,
  query: Record<string, string> = {},
): Promise<{ parts: ListedPart[]; isTruncated: string; nextPartNumberMarker: string }> {
  // @types/ali-oss marks every ListParts parameter required; OSS takes each as optional.
  const listed = await client.listParts(key, uploadId, query as unknown as OSS.ListPartsQuery);
  const parts = listed.parts as unknown as ListedPart | ListedPart[];
  return { parts: Array.isArray(parts) ? parts : [parts], isTruncated: String(listed.isTruncated), nextPartNumberMarker: String(listed.nextPartNumberMarker) };
}

/** Options carrying `meta`: @types/ali-oss's UserMeta demands `uid` and `pid`, while OSS takes any names. */
function withMeta<T>(options: { meta: Record<string, string> } & Record<string, unknown>): T {
  return options as unknown as T;
}

const PART = 100 * 1024;
const headersOf = (res: unknown): Record<string, string> => (res as { headers: Record<string, string> }).headers;

/** The multipart ETag computed independently: MD5 of the parts' raw MD5s, then `-<count>`. */
function multipartEtag(bytes: Uint8Array, partSize: number): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += partSize) digests.push(Buffer.from(md5Hex(bytes.subarray(at, at + partSize)), 'hex'));
  return `"${md5Hex(Buffer.concat(digests))}-${digests.length}"`;
}

/** The operations beyond plain PUT/GET, driven through ali-oss as users call them. */
export function describeOssOperations(currentCloud: () => TestCloud, addressing: Addressing, v4 = false): void {
  const client = (bucket?: string): OSS => aliOss(currentCloud().ossEndpoint, { addressing, bucket, v4 });
  const events = (): OssEventRecord[] => {
    const seen: OssEventRecord[] = [];
    currentCloud().oss.onObjectCreated((record) => seen.push(record));
    return seen;
  };

  describe(`OSS operations through ali-oss (${addressing} addressing, ${v4 ? 'V4' : 'V1'})`, () => {
    it('finds the bucket whichever way the client names it, and lists what it put', async () => {
      await client().put('where/a.txt', Buffer.from('a'));
      const listed = await client().list({ prefix: 'where/', 'max-keys': 10 }, {});
      expect(listed.objects.map((object) => object.name)).toEqual(['where/a.txt']);
      const put = currentCloud().oss.requests.entries.find((entry) => entry.operation === 'PutObject');
      expect(put).toMatchObject({ bucket: TEST_BUCKET, key: 'where/a.txt', status: 200 });
      if (addressing !== 'virtual') expect(put?.headers.host).toBe(`${TEST_BUCKET}.oss-${TEST_REGION}.aliyuncs.com`);
    });

    // Without sldEnable a key that starts with the bucket's name reads as path-style (docs/local-stack.md).
    it.skipIf(addressing === 'host')("keeps a key that starts with the bucket's own name", async () => {
      const key = `${TEST_BUCKET}/inner.txt`;
      await client().put(key, Buffer.from('inner'));
      expect(await currentCloud().oss.listKeys(TEST_BUCKET)).toEqual([key]);
      expect((await client().get(key)).content.toString()).toBe('inner');
    });

    it('resumes a multipartUpload from its checkpoint after it broke off midway', async () => {
      const created = events();
      const bytes = patternBytes(PART * 4 + 777, 21);
      let checkpoint: OSS.Checkpoint | undefined;
      const progress = (_fraction: number, point: OSS.Checkpoint): void => {
        checkpoint = point;
      };
      currentCloud().oss.faults.inject({ match: (r) => r.operation === 'UploadPart' && r.query.partNumber === '3', status: 503, code: 'ServiceUnavailable' });
      const broken = await ossFailure(client().multipartUpload('big/resume.zip', Buffer.from(bytes), { partSize: PART, parallel: 1, progress }));
      expect(broken.status).toBe(503);
      expect(checkpoint?.doneParts.map((part) => part.number)).toEqual([1, 2]);

      const uploadId = checkpoint!.uploadId;
      const uploads = await client().listUploads({ prefix: 'big/' });
      expect(uploads.uploads.map((upload) => [upload.name, upload.uploadId])).toEqual([['big/resume.zip', uploadId]]);
      const listed = await listParts(client(), 'big/resume.zip', uploadId);
      expect(listed.parts.map((part) => [part.PartNumber, part.Size, part.ETag, part.HashCrc64ecma])).toEqual(
        [0, 1].map((index) => {
          const piece = bytes.subarray(index * PART, (index + 1) * PART);
          return [String(index + 1), String(PART), `"${md5Hex(piece)}"`, independentCrc64(piece)];
        }),
      );
      expect(created).toEqual([]);

      const resumed = await client().multipartUpload('big/resume.zip', Buffer.from(bytes), { checkpoint, partSize: PART, parallel: 1, progress });
      const etag = multipartEtag(bytes, PART);
      expect(resumed.etag).toBe(etag);
      expect(headersOf(resumed.res)['x-oss-hash-crc64ecma']).toBe(independentCrc64(bytes));
      expect(Buffer.from((await currentCloud().oss.readObject(TEST_BUCKET, 'big/resume.zip'))!).equals(Buffer.from(bytes))).toBe(true);
      expect((await client().listUploads({})).uploads).toEqual([]);
      expect(created.map((record) => [record.eventName, record.oss.object.key, record.oss.object.eTag, record.oss.object.size])).toEqual([
        ['ObjectCreated:CompleteMultipartUpload', 'big/resume.zip', etag.slice(1, -1), bytes.length],
      ]);
    });

    it('aborts an upload midway: its parts and the upload are gone, and no object is made', async () => {
      const { uploadId } = await client().initMultipartUpload('big/aborted.zip');
      await client().uploadPart('big/aborted.zip', uploadId, 1, Buffer.from(patternBytes(PART, 5)), 0, PART);
      expect((await listParts(client(), 'big/aborted.zip', uploadId)).parts).toHaveLength(1);
      await client().abortMultipartUpload('big/aborted.zip', uploadId);
      expect((await client().listUploads({})).uploads).toEqual([]);
      expect(await ossFailure(listParts(client(), 'big/aborted.zip', uploadId))).toMatchObject({ status: 404, code: 'NoSuchUpload' });
      expect(await ossFailure(client().abortMultipartUpload('big/aborted.zip', uploadId))).toMatchObject({ status: 404, code: 'NoSuchUpload' });
      expect(await currentCloud().oss.statObject(TEST_BUCKET, 'big/aborted.zip')).toBeUndefined();
    });

    it('pages ListParts and ListMultipartUploads', async () => {
      const first = await client().initMultipartUpload('u/a.zip');
      const second = await client().initMultipartUpload('u/b.zip');
      for (const number of [1, 2, 3]) await client().uploadPart('u/a.zip', first.uploadId, number, Buffer.from(patternBytes(10, number)), 0, 10);
      const page = await listParts(client(), 'u/a.zip', first.uploadId, { 'max-parts': '2' });
      expect([page.parts.map((part) => part.PartNumber), page.isTruncated, page.nextPartNumberMarker]).toEqual([['1', '2'], 'true', '2']);
      const rest = await listParts(client(), 'u/a.zip', first.uploadId, { 'max-parts': '2', 'part-number-marker': '2' });
      expect(rest.parts.map((part) => part.PartNumber)).toEqual(['3']);

      const uploadsPage = await client().listUploads({ 'max-uploads': 1 });
      expect([uploadsPage.uploads.map((upload) => upload.name), uploadsPage.isTruncated, uploadsPage.nextKeyMarker]).toEqual([['u/a.zip'], true, 'u/a.zip']);
      const after = await client().listUploads({ 'max-uploads': 1, 'key-marker': uploadsPage.nextKeyMarker });
      expect(after.uploads.map((upload) => [upload.name, upload.uploadId])).toEqual([['u/b.zip', second.uploadId]]);
    });

    it('builds an object from parts copied out of another with UploadPartCopy', async () => {
      const source = patternBytes(PART * 2 + 300, 9);
      await client().put('src/whole.bin', Buffer.from(source));
      const { uploadId } = await client().initMultipartUpload('dst/copied.bin');
      const sourceData = { sourceKey: 'src/whole.bin', sourceBucketName: TEST_BUCKET };
      const one = await client().uploadPartCopy('dst/copied.bin', uploadId, 1, `0-${PART * 2 - 1}`, sourceData, {});
      const two = await client().uploadPartCopy('dst/copied.bin', uploadId, 2, `${PART * 2}-${source.length - 1}`, sourceData, {});
      expect(one.etag).toBe(`"${md5Hex(source.subarray(0, PART * 2))}"`);
      const done = await client().completeMultipartUpload('dst/copied.bin', uploadId, [
        { number: 1, etag: one.etag },
        { number: 2, etag: two.etag },
      ]);
      expect(headersOf(done.res)['x-oss-hash-crc64ecma']).toBe(independentCrc64(source));
      expect(Buffer.from((await currentCloud().oss.readObject(TEST_BUCKET, 'dst/copied.bin'))!).equals(Buffer.from(source))).toBe(true);
      expect(await ossFailure(client().uploadPartCopy('dst/copied.bin', uploadId, 3, '0-1', sourceData, {}))).toMatchObject({
        status: 404,
        code: 'NoSuchUpload',
      });
    });

    it("copies an object with its ETag, CRC and metadata (COPY), or the request's (REPLACE), and fires CopyObject", async () => {
      const created = events();
      const bytes = patternBytes(5000, 4);
      await client().put(
        'layers/source.zip',
        Buffer.from(bytes),
        withMeta<OSS.PutObjectOptions>({ meta: { owner: 'team-a' }, headers: { 'Content-Disposition': 'attachment; filename=s.zip' } }),
      );
      const copied = await client().copy('layers/copy.zip', 'layers/source.zip');
      expect(copied.data?.etag).toBe(`"${md5Hex(bytes)}"`);
      const head = await client().head('layers/copy.zip');
      expect(head.meta).toEqual({ owner: 'team-a' });
      expect(headersOf(head.res)).toMatchObject({
        etag: `"${md5Hex(bytes)}"`,
        'x-oss-hash-crc64ecma': independentCrc64(bytes),
        'content-type': 'application/zip',
        'content-disposition': 'attachment; filename=s.zip',
      });

      await client().copy('layers/replaced.zip', 'layers/source.zip', withMeta<OSS.CopyObjectOptions>({ meta: { owner: 'team-b' } }));
      const replaced = await client().head('layers/replaced.zip');
      expect(replaced.meta).toEqual({ owner: 'team-b' });
      expect(headersOf(replaced.res)).not.toHaveProperty('content-disposition');
      expect(Buffer.from((await currentCloud().oss.readObject(TEST_BUCKET, 'layers/replaced.zip'))!).equals(Buffer.from(bytes))).toBe(true);

      expect(created.map((record) => [record.eventName, record.oss.object.key, record.oss.object.eTag])).toEqual([
        ['ObjectCreated:PutObject', 'layers/source.zip', md5Hex(bytes)],
        ['ObjectCreated:CopyObject', 'layers/copy.zip', md5Hex(bytes)],
        ['ObjectCreated:CopyObject', 'layers/replaced.zip', md5Hex(bytes)],
      ]);
    });

    it('refuses a copy from a missing source, with a bad directive, or over an object it must not overwrite', async () => {
      await client().put('c/one.txt', Buffer.from('one'));
      expect(await ossFailure(client().copy('c/two.txt', 'c/missing.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
      expect(await ossFailure(client().copy('c/two.txt', 'c/one.txt', { headers: { 'x-oss-metadata-directive': 'MERGE' } }))).toMatchObject({
        status: 400,
        code: 'InvalidArgument',
      });
      await client().put('c/two.txt', Buffer.from('two'));
      expect(await ossFailure(client().copy('c/two.txt', 'c/one.txt', { headers: { 'x-oss-forbid-overwrite': 'true' } }))).toMatchObject({
        status: 409,
        code: 'FileAlreadyExists',
      });
      expect((await client().get('c/two.txt')).content.toString()).toBe('two');
    });

    it('appends at the position OSS reports, with the CRC of the whole object, and fires AppendObject', async () => {
      const created = events();
      const first = await client().append('log/app.log', Buffer.from('first line\n'));
      expect(first.nextAppendPosition).toBe('11');
      const second = await client().append('log/app.log', Buffer.from('second line\n'), { position: first.nextAppendPosition });
      expect(second.nextAppendPosition).toBe('23');
      const whole = Buffer.from('first line\nsecond line\n');
      expect(headersOf(second.res)['x-oss-hash-crc64ecma']).toBe(independentCrc64(whole));
      expect((await client().get('log/app.log')).content.toString()).toBe(whole.toString());
      const head = await client().head('log/app.log');
      expect(headersOf(head.res)).toMatchObject({
        'x-oss-object-type': 'Appendable',
        'x-oss-next-append-position': '23',
        'x-oss-hash-crc64ecma': independentCrc64(whole),
      });
      expect(headersOf(head.res).etag).not.toBe(headersOf(first.res).etag);

      const wrong = await ossFailure(client().append('log/app.log', Buffer.from('x'), { position: '11' }));
      expect(wrong).toMatchObject({ status: 409, code: 'PositionNotEqualToLength' });
      await client().put('log/normal.log', Buffer.from('normal'));
      expect(await ossFailure(client().append('log/normal.log', Buffer.from('x'), { position: '6' }))).toMatchObject({
        status: 409,
        code: 'ObjectNotAppendable',
      });
      expect(created.map((record) => [record.eventName, record.oss.object.size, record.oss.object.deltaSize])).toEqual([
        ['ObjectCreated:AppendObject', 11, 11],
        ['ObjectCreated:AppendObject', 23, 12],
        ['ObjectCreated:PutObject', 6, 6],
      ]);
    });

    it('keeps user metadata through PUT, multipart upload and HEAD/GET', async () => {
      await client().put(
        'm/put.txt',
        Buffer.from('x'),
        withMeta<OSS.PutObjectOptions>({ meta: { team: 'a', build: '42' }, headers: { 'Cache-Control': 'no-cache' } }),
      );
      const head = await client().head('m/put.txt');
      expect(head.meta).toEqual({ team: 'a', build: '42' });
      const got = await client().get('m/put.txt');
      expect(headersOf(got.res)).toMatchObject({ 'x-oss-meta-team': 'a', 'x-oss-meta-build': '42', 'cache-control': 'no-cache' });

      await client().multipartUpload(
        'm/multi.bin',
        Buffer.from(patternBytes(PART + 10)),
        withMeta<OSS.MultipartUploadOptions>({ partSize: PART, meta: { team: 'b' } }),
      );
      expect((await client().head('m/multi.bin')).meta).toEqual({ team: 'b' });
      expect((await client().head('m/put.txt', {})).meta).toEqual({ team: 'a', build: '42' });

      const tooMuch = await ossFailure(
        client().put('m/big-meta.txt', Buffer.from('x'), withMeta<OSS.PutObjectOptions>({ meta: { notes: 'n'.repeat(8 * 1024) } })),
      );
      expect(tooMuch).toMatchObject({ status: 400, code: 'InvalidArgument' });
      expect(tooMuch.message).toContain('x-oss-meta-*');
      expect(await currentCloud().oss.statObject(TEST_BUCKET, 'm/big-meta.txt')).toBeUndefined();
    });

    it('answers a GET with response-* overrides without changing what is stored', async () => {
      await client().put('o/data.bin', Buffer.from('payload'), { mime: 'application/octet-stream' });
      const overridden = await client().get('o/data.bin', {
        subres: {
          'response-content-type': 'text/plain',
          'response-content-disposition': 'attachment; filename="d.txt"',
          'response-cache-control': 'max-age=60',
        },
      });
      expect(overridden.content.toString()).toBe('payload');
      expect(headersOf(overridden.res)).toMatchObject({
        'content-type': 'text/plain',
        'content-disposition': 'attachment; filename="d.txt"',
        'cache-control': 'max-age=60',
      });
      const plain = await client().head('o/data.bin');
      expect(headersOf(plain.res)['content-type']).toBe('application/octet-stream');
      expect(headersOf(plain.res)).not.toHaveProperty('content-disposition');
    });

    it('reports the bucket private and its objects inheriting that, with GetBucketAcl and GetObjectACL', async () => {
      await client().put('acl/x.txt', Buffer.from('x'));
      expect(await client().getACL('acl/x.txt')).toMatchObject({ acl: 'default', owner: { id: TEST_ACCOUNT_ID } });
      expect(await client().getBucketACL(TEST_BUCKET)).toMatchObject({ acl: 'private', owner: { id: TEST_ACCOUNT_ID } });
      expect(await ossFailure(client().getACL('acl/missing.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
    });

    it('describes the bucket with GetBucketInfo and GetBucketLocation', async () => {
      const info = await client().getBucketInfo(TEST_BUCKET);
      expect(info.bucket).toMatchObject({
        Name: TEST_BUCKET,
        Location: `oss-${TEST_REGION}`,
        StorageClass: 'Standard',
        ExtranetEndpoint: `oss-${TEST_REGION}.aliyuncs.com`,
      });
      expect(Number.isNaN(Date.parse(info.bucket.CreationDate))).toBe(false);
      expect((await client().getBucketLocation(TEST_BUCKET)).location).toBe(`oss-${TEST_REGION}`);
      expect(await ossFailure(client('no-such-bucket').getBucketInfo('no-such-bucket'))).toMatchObject({ status: 404, code: 'NoSuchBucket' });
    });

    it('answers what it does not serve with 501 NotImplemented naming the operation', async () => {
      await client().put('n/x.txt', Buffer.from('x'));
      // Thunks, called one at a time: a refusal must not arrive before anything awaits it.
      const cases: Array<[() => Promise<unknown>, string]> = [
        [() => client().putACL('n/x.txt', 'public-read'), 'PutObjectACL'],
        [() => client().putSymlink('n/link', 'n/x.txt'), 'PutSymlink'],
        [() => client().getSymlink('n/x.txt'), 'GetSymlink'],
        [() => client().deleteMulti(['n/x.txt']), 'DeleteMultipleObjects'],
        [() => client().putBucketACL(TEST_BUCKET, 'public-read'), 'PutBucketAcl'],
      ];
      for (const [call, operation] of cases) {
        const failure = await ossFailure(call());
        expect(failure, operation).toMatchObject({ status: 501, code: 'NotImplemented' });
        expect(failure.message).toContain(`does not serve ${operation}.`);
      }
      expect((await client().get('n/x.txt')).content.toString()).toBe('x');
    });

    it('answers a HEAD it refuses with no body and the error in x-oss-err, which ali-oss reads', async () => {
      await client().put('n/x.txt', Buffer.from('x'));
      const failure = await ossFailure(client().head('n/x.txt', { subres: { acl: '' } } as OSS.HeadObjectOptions));
      expect(failure).toMatchObject({ status: 501, code: 'NotImplemented' });
      expect(failure.message).toContain('does not serve HEAD on an object with ?acl.');
    });
  });
}
