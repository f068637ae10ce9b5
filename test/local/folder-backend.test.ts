import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FolderBackend, type LoopbackServer, createFcEmulator, createFolderBackend, createOssEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type TestCloud } from '../support/cloud';
import { ossClient } from '../support/clients';
import { describeOssEmulator } from '../emulator/oss-suite';

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
