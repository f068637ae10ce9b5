import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FolderBackend, type LoopbackServer, createFcEmulator, createFolderBackend, createOssEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type TestCloud } from '../support/cloud';
import { ossClient } from '../support/clients';
import { describeOssEmulator } from '../emulator/oss-suite';
import { aliOss, describeOssOperations } from '../emulator/oss-operations-suite';
import { md5Hex, patternBytes } from '../support/independent';

describe('OSS emulator on the folder backend, over a loopback socket', () => {
  let cloud: TestCloud;
  let backend: FolderBackend;
  let servers: LoopbackServer[];
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'oss-folder-'));
    backend = createFolderBackend(root);
    const account = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS] };
    const oss = createOssEmulator({ ...account, backend, buckets: [TEST_BUCKET] });
    const fc = createFcEmulator({ ...account, readObject: (bucket, key) => oss.readObject(bucket, key) });
    servers = [await serve(oss.handle), await serve(fc.handle)];
    cloud = { oss, fc, ossEndpoint: servers[0]!.url, fcEndpoint: servers[1]!.url };
  });
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await rm(root, { recursive: true, force: true });
  });

  describeOssEmulator(() => cloud);
  describeOssOperations(() => cloud, 'host', true);

  const uploadsFolder = (): string => join(root, '.oss-meta', '.uploads');

  it('keeps multipart parts as files until Complete, and leaves none behind', async () => {
    const client = aliOss(cloud.ossEndpoint, { addressing: 'host', v4: true });
    const { uploadId } = await client.initMultipartUpload('big/parts.zip');
    const first = Buffer.from(patternBytes(100 * 1024, 1));
    const second = Buffer.from(patternBytes(500, 2));
    const one = await client.uploadPart('big/parts.zip', uploadId, 1, first, 0, first.length);
    const two = await client.uploadPart('big/parts.zip', uploadId, 2, second, 0, second.length);
    expect((await readFile(join(uploadsFolder(), uploadId, '1.part'))).equals(first)).toBe(true);
    expect((await readdir(join(uploadsFolder(), uploadId))).sort()).toEqual(['1.json', '1.part', '2.json', '2.part', 'upload.json']);
    await client.completeMultipartUpload('big/parts.zip', uploadId, [
      { number: 1, etag: one.etag },
      { number: 2, etag: two.etag },
    ]);
    expect((await readFile(join(root, TEST_BUCKET, 'big', 'parts.zip'))).equals(Buffer.concat([first, second]))).toBe(true);
    expect(await readdir(uploadsFolder())).toEqual([]);
    expect(await readdir(join(root, '.oss-meta', '.incoming'))).toEqual([]);
  });

  it('resumes an upload begun before a restart, from the parts kept on disk', async () => {
    const bytes = Buffer.from(patternBytes(100 * 1024 * 2 + 9, 3));
    const before = aliOss(cloud.ossEndpoint, { addressing: 'host', v4: true });
    const { uploadId } = await before.initMultipartUpload('big/restart.zip');
    const one = await before.uploadPart('big/restart.zip', uploadId, 1, bytes.subarray(0, 100 * 1024), 0, 100 * 1024);

    // A new emulator on the same folder, as after `npm start` is stopped and started again.
    const account = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS] };
    const restarted = createOssEmulator({ ...account, backend: createFolderBackend(root), buckets: [TEST_BUCKET] });
    const server = await serve(restarted.handle);
    servers.push(server);
    const after = aliOss(server.url, { addressing: 'host', v4: true });
    expect((await after.listUploads({})).uploads.map((upload) => upload.uploadId)).toEqual([uploadId]);
    const two = await after.uploadPart('big/restart.zip', uploadId, 2, bytes.subarray(100 * 1024), 0, bytes.length - 100 * 1024);
    const done = await after.completeMultipartUpload('big/restart.zip', uploadId, [
      { number: 1, etag: one.etag },
      { number: 2, etag: two.etag },
    ]);
    expect(done.etag).toMatch(/-2"$/);
    expect(Buffer.from((await restarted.readObject(TEST_BUCKET, 'big/restart.zip'))!).equals(bytes)).toBe(true);
    expect((await restarted.statObject(TEST_BUCKET, 'big/restart.zip'))?.etag).toBe(done.etag);
    expect(one.etag).toBe(`"${md5Hex(bytes.subarray(0, 100 * 1024))}"`);
  });

  it('keeps user metadata in the sidecar, so it survives a restart', async () => {
    const client = aliOss(cloud.ossEndpoint, { addressing: 'path' });
    await client.put('m/kept.txt', Buffer.from('x'), { headers: { 'x-oss-meta-team': 'a' } });
    const reopened = createOssEmulator({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      credentials: [TEST_CREDENTIALS],
      backend: createFolderBackend(root),
    });
    expect((await reopened.statObject(TEST_BUCKET, 'm/kept.txt'))?.metadata).toEqual({ 'x-oss-meta-team': 'a' });
  });

  it('keeps a PUT as a plain file, streamed to disk, with its CRC-64 and MD5 ETag', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const put = await ossClient({ endpoint: cloud.ossEndpoint }).put('dir/a.bin', bytes);
    // Buffer.equals, not toEqual: a deep compare of 3 MiB element by element takes seconds.
    expect((await readFile(join(root, TEST_BUCKET, 'dir', 'a.bin'))).equals(bytes)).toBe(true);
    expect((put.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe((await cloud.oss.statObject(TEST_BUCKET, 'dir/a.bin'))?.crc64);
  });

  it('serves a file copied in by hand only once adopted, and forgets it when changed by hand', async () => {
    await mkdir(join(root, TEST_BUCKET, 'hand'), { recursive: true });
    await writeFile(join(root, TEST_BUCKET, 'hand', 'x.txt'), 'hello');
    expect(await cloud.oss.statObject(TEST_BUCKET, 'hand/x.txt')).toBeUndefined();
    const adopted = await backend.adopt(TEST_BUCKET, 'hand/x.txt');
    expect(adopted).toMatchObject({ size: 5, etag: '"5D41402ABC4B2A76B9719D911017C592"' });
    expect(await backend.adopt(TEST_BUCKET, 'hand/x.txt')).toBeUndefined();
    expect(await cloud.oss.listKeys(TEST_BUCKET)).toEqual(['hand/x.txt']);
    await writeFile(join(root, TEST_BUCKET, 'hand', 'x.txt'), 'hello, changed');
    expect(await cloud.oss.statObject(TEST_BUCKET, 'hand/x.txt')).toBeUndefined();
  });
});
