import { join } from 'node:path';
import OSS from 'ali-oss';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import type { LocalStack } from '../../src/local/stack';
import type { PublishResult } from '../../src/publish/result';
import { independentCrc64, md5Hex, patternBytes } from '../support/independent';
import { ensureBundles } from './bundles';
import { LOCAL_BUCKET as BUCKET, type Running, settledResult as settledResultAt, useLocalStacks } from './stack-harness';

const PART = 100 * 1024;
const stacks = useLocalStacks();

async function start(): Promise<Running> {
  const run = await stacks.start();
  await run.stack.idle();
  return run;
}

beforeAll(ensureBundles, 120_000);

/**
 * ali-oss as a new user configures it for `npm start`: the endpoint, the bucket and the local key.
 * `path` adds `sldEnable` (what presigned URLs fetched by plain `fetch` need: the bucket must be in
 * the URL); `host` is the natural configuration, the bucket then travelling in the Host header.
 */
function localClient(stack: LocalStack, { v4, addressing }: { v4: boolean; addressing: 'path' | 'host' }): OSS {
  const options: OSS.Options & { sldEnable?: boolean; authorizationV4?: boolean } = {
    endpoint: stack.ossUrl,
    bucket: BUCKET,
    region: `oss-${LOCAL_REGION}`,
    ...LOCAL_CREDENTIALS,
    authorizationV4: v4,
    sldEnable: addressing === 'path',
  };
  return new OSS(options);
}

/** A valid layer zip larger than one part: stored (not deflated) pattern bytes under bin/. */
function bigLayerZip(seed: number, bytes = PART * 3 + 1234): Buffer {
  return Buffer.from(zipSync({ 'bin/tool': patternBytes(bytes, seed) }, { level: 0 }));
}

function manifest(layerName: string): Buffer {
  return Buffer.from(JSON.stringify({ layerName, compatibleRuntime: ['nodejs20'] }));
}

function settledResult(stack: LocalStack, key: string): Promise<PublishResult> {
  return settledResultAt(join(stack.bucketFolder, ...key.split('/')));
}

describe("npm start: what Alibaba's clients upload is published", () => {
  it('ali-oss V4 with the natural configuration (bucket in Host): put', async () => {
    const { stack } = await start();
    const client = localClient(stack, { v4: true, addressing: 'host' });
    const zip = Buffer.from(zipSync({ 'nodejs/node_modules/v4/index.js': Buffer.from('module.exports = 4') }));
    await client.put('v4/put.layer.json', manifest('v4-put'));
    await client.put('v4/put.zip', zip);
    const result = await settledResult(stack, 'v4/put.result.json');
    expect(result).toMatchObject({ status: 'published', layerName: 'v4-put', version: 1, source: { etag: md5Hex(zip), crc64: independentCrc64(zip) } });
    expect(stack.oss.requests.entries.filter((entry) => entry.operation === 'PutObject').map((entry) => entry.headers.host)).toContain(
      `${BUCKET}.oss-${LOCAL_REGION}.aliyuncs.com`,
    );
  });

  it('ali-oss V4 resumable multipartUpload: broken off midway, resumed from its checkpoint, published once', async () => {
    const { stack, events } = await start();
    const client = localClient(stack, { v4: true, addressing: 'host' });
    await client.put('v4/big.layer.json', manifest('v4-big'));
    await stack.idle();
    const zip = bigLayerZip(7);
    let checkpoint: OSS.Checkpoint | undefined;
    const options = {
      partSize: PART,
      parallel: 1,
      progress: (_fraction: number, point: OSS.Checkpoint): void => {
        checkpoint = point;
        // Stop after the second part, as a closed laptop would.
        if (point.doneParts.length === 2) client.cancel();
      },
    };
    await expect(client.multipartUpload('v4/big.zip', zip, options)).rejects.toMatchObject({ name: 'cancel' });
    expect(checkpoint?.doneParts).toHaveLength(2);
    expect((await client.listUploads({ prefix: 'v4/' })).uploads.map((upload) => upload.uploadId)).toEqual([checkpoint!.uploadId]);

    const done = await client.multipartUpload('v4/big.zip', zip, { ...options, checkpoint, progress: undefined });
    const result = await settledResult(stack, 'v4/big.result.json');
    expect(result).toMatchObject({ status: 'published', layerName: 'v4-big', version: 1, event: { name: 'ObjectCreated:CompleteMultipartUpload' } });
    expect(result.source).toMatchObject({ etag: done.etag.replace(/"/g, ''), size: zip.length, crc64: independentCrc64(zip) });
    expect(result.source.etag).toMatch(/-4$/);
    const invoked = events.filter((event) => event.kind === 'invoke' && event.record.oss.object.key === 'v4/big.zip');
    expect(invoked).toHaveLength(1);
  });

  it('a presigned V4 PUT URL fetched by plain fetch', async () => {
    const { stack } = await start();
    const client = localClient(stack, { v4: true, addressing: 'path' });
    await client.put('pre/signed.layer.json', manifest('presigned'));
    const zip = Buffer.from(zipSync({ 'bin/presigned': Buffer.from('#!/bin/sh\n') }));
    const url = await client.signatureUrlV4('PUT', 600, { headers: { 'Content-Type': 'application/zip' } }, 'pre/signed.zip');
    const response = await fetch(url, { method: 'PUT', body: zip, headers: { 'Content-Type': 'application/zip' } });
    expect(response.status).toBe(200);
    const result = await settledResult(stack, 'pre/signed.result.json');
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ status: 'published', layerName: 'presigned', version: 1, source: { etag: md5Hex(zip) } });

    const tampered = new URL(url);
    tampered.pathname = tampered.pathname.replace('signed.zip', 'other.zip');
    expect((await fetch(tampered, { method: 'PUT', body: zip, headers: { 'Content-Type': 'application/zip' } })).status).toBe(403);
  });

  it('ali-oss V1 without sldEnable: a copy into the watched folder is published as CopyObject', async () => {
    const { stack } = await start();
    const client = localClient(stack, { v4: false, addressing: 'host' });
    const zip = Buffer.from(zipSync({ 'bin/copied': Buffer.from('#!/bin/sh\n') }));
    await client.put('staging/copied.bin', zip);
    await client.put('copy/copied.layer.json', manifest('copied'));
    // The manifest's own event first: otherwise it may find the copy and publish under its name.
    await stack.idle();
    await client.copy('copy/copied.zip', 'staging/copied.bin');
    const result = await settledResult(stack, 'copy/copied.result.json');
    expect(result).toMatchObject({
      status: 'published',
      layerName: 'copied',
      event: { name: 'ObjectCreated:CopyObject' },
      source: { etag: md5Hex(zip), crc64: independentCrc64(zip) },
    });
  });

  it('an append to a zip key is delivered and ignored, as the publisher ignores AppendObject', async () => {
    const { stack, events } = await start();
    const client = localClient(stack, { v4: true, addressing: 'host' });
    await client.append('app/appended.zip', Buffer.from('PK'));
    await stack.idle();
    const outcome = events.find((event) => event.kind === 'outcome' && event.record.oss.object.key === 'app/appended.zip');
    expect(outcome).toMatchObject({ record: { eventName: 'ObjectCreated:AppendObject' }, outcome: { kind: 'done', summary: [{ status: 'ignored' }] } });
    expect(await stack.oss.statObject(BUCKET, 'app/appended.result.json')).toBeUndefined();
  });
});
