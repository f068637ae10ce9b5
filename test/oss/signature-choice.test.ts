import { afterEach, describe, expect, it } from 'vitest';
import { type LoopbackServer, type OssEmulator, createFcEmulator, createOssEmulator, serve } from '../../src/emulator';
import { PublisherError } from '../../src/errors';
import { createOssStore, regionId } from '../../src/oss/ali-oss-store';
import type { OssSignature } from '../../src/config';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { invoke } from '../publish/helpers';

const ACCOUNT = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS] };
const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** An OSS on a loopback socket: `newAccount` as for a bucket made today, without it as for an old one. */
async function ossServer(newAccount: boolean): Promise<{ oss: OssEmulator; url: URL }> {
  const oss = createOssEmulator({ ...ACCOUNT, buckets: [TEST_BUCKET], newAccount });
  const server = await serve(oss.handle);
  servers.push(server);
  return { oss, url: new URL(server.url) };
}

function store(url: URL, signature?: OssSignature, region = TEST_REGION) {
  return createOssStore({ bucket: TEST_BUCKET, region, endpoint: url, credentials: TEST_CREDENTIALS, timeoutMs: 5_000, signature });
}

describe('the ali-oss adapter signs V4 unless told V1 (docs/contract.md §2 OSS_SIGNATURE)', () => {
  it("does HEAD, read, ranged GET with If-Match and forbid-overwrite PUT on a new account's bucket", async () => {
    const { oss, url } = await ossServer(true);
    const adapter = store(url);
    expect(await adapter.put('layers/a.json', '{"a":1}', { contentType: 'application/json', forbidOverwrite: true })).toBe('created');
    expect(await adapter.put('layers/a.json', '{"a":2}', { contentType: 'application/json', forbidOverwrite: true })).toBe('exists');

    const head = await adapter.head('layers/a.json');
    expect(head).toMatchObject({ size: 7, crc64: independentCrc64(Buffer.from('{"a":1}')) });
    expect(await adapter.head('layers/missing.json')).toBeUndefined();
    expect(await adapter.read('layers/a.json', 100)).toMatchObject({ body: Buffer.from('{"a":1}') });

    const { body } = await adapter.stream('layers/a.json', { ifMatch: head!.etag, range: { start: 1, end: 4 } });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('"a":');
    await expect(adapter.stream('layers/a.json', { ifMatch: '0123456789ABCDEF0123456789ABCDEF' })).rejects.toThrow(/replaced/);

    const requests = oss.requests.entries;
    expect(requests.length).toBeGreaterThanOrEqual(7);
    for (const request of requests) expect(request.headers['x-oss-content-sha256'], `${request.method} ${request.key}`).toBe('UNSIGNED-PAYLOAD');
  });

  it('takes the region as ali-oss spells it (oss-cn-hangzhou) or as FC does (cn-hangzhou)', async () => {
    expect(regionId('oss-cn-hangzhou')).toBe('cn-hangzhou');
    expect(regionId(' cn-hangzhou ')).toBe('cn-hangzhou');
    const { url } = await ossServer(true);
    expect(await store(url, 'v4', 'oss-cn-hangzhou').put('k.txt', 'x', { contentType: 'text/plain' })).toBe('created');
  });

  it("fails retryably, naming OSS's refusal, when the signature does not fit the bucket", async () => {
    const { url } = await ossServer(true);
    const refusedV1 = await store(url, 'v1')
      .head('k.txt')
      .catch((error: unknown) => error);
    expect(refusedV1).toBeInstanceOf(PublisherError);
    expect(refusedV1).toMatchObject({ code: 'Unavailable', retryable: true, message: expect.stringContaining('HTTP 403') });
    const wrongRegion = await store(url, 'v4', 'cn-shanghai')
      .put('k.txt', 'x', { contentType: 'text/plain' })
      .catch((error: unknown) => error);
    expect(wrongRegion).toMatchObject({ code: 'Unavailable', message: expect.stringContaining('Invalid signing region') });
  });
});

describe('the function with OSS_SIGNATURE=v1 against an old bucket', () => {
  /** An old account: its OSS takes V1, its FC reads zips from that OSS. */
  async function oldAccount() {
    const { oss, url } = await ossServer(false);
    const fc = createFcEmulator({ ...ACCOUNT, readObject: (bucket, key) => oss.readObject(bucket, key) });
    const fcServer = await serve(fc.handle);
    servers.push(fcServer);
    const zip = nodejsLayerZip('v1-bucket');
    await oss.putObject(TEST_BUCKET, 'layers/left-pad.zip', zip);
    await oss.putObject(TEST_BUCKET, 'layers/left-pad.layer.json', manifestBytes(NODE_MANIFEST));
    const event = await oss.objectCreatedEvent(TEST_BUCKET, 'layers/left-pad.zip');
    return { oss, zip, event, env: { OSS_ENDPOINT: url.origin, FC_ENDPOINT: fcServer.url } };
  }

  it('publishes, every OSS request signed V1', async () => {
    const { oss, zip, event, env } = await oldAccount();
    const run = await invoke([event], { env: { ...env, OSS_SIGNATURE: 'v1' } });
    expect(run.error).toBeUndefined();
    expect(run.summary).toEqual([{ key: 'layers/left-pad.zip', status: 'published', layerName: 'left-pad', version: 1 }]);
    const result = JSON.parse(Buffer.from((await oss.readObject(TEST_BUCKET, 'layers/left-pad.result.json'))!).toString('utf8')) as unknown;
    expect(result).toMatchObject({
      status: 'published',
      source: { crc64: independentCrc64(zip) },
    });
    // V1 requests carry an HTTP date in x-oss-date and no payload hash.
    for (const request of oss.requests.entries) {
      expect(request.headers['x-oss-content-sha256']).toBeUndefined();
      expect(Date.parse(request.headers['x-oss-date'] ?? '')).not.toBeNaN();
    }
  });

  it('an unknown OSS_SIGNATURE fails the invocation naming the variable, before any request', async () => {
    const { oss, event, env } = await oldAccount();
    const run = await invoke([event], { env: { ...env, OSS_SIGNATURE: 'v2' } });
    expect(run.error?.message).toContain('OSS_SIGNATURE');
    expect(oss.requests.entries).toEqual([]);
  });
});
