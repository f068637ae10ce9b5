import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type OSS from 'ali-oss';
import { SingleBar } from 'cli-progress';
import { layerKeys } from '../keys';
import type { PublishResult } from '../publish/result';
import { formatBytes, formatRate } from '../console/format';
import { checkLayer, describeCheck, fileCrc64, sizeOf } from './check';
import { ossFailure } from './failures';
import { TransferMeter } from './progress';
import { EXIT_FAILED, ServiceError, type CliIo } from '../console/io';

/** Zips above this go up in parts, with a progress bar. */
const MULTIPART_FROM_BYTES = 16 * 1024 * 1024;
const PART_BYTES = 8 * 1024 * 1024;
const POLL_MS = 1000;

export interface PublishOptions {
  zipPath: string;
  manifestPath: string;
  prefix: string;
  waitSeconds: number;
}

export type PublishOutcome =
  | { kind: 'refused'; check: Awaited<ReturnType<typeof checkLayer>> }
  | { kind: 'result'; result: PublishResult; keys: { zip: string; manifest: string; result: string } }
  | { kind: 'timeout'; keys: { zip: string; manifest: string; result: string } };

/**
 * Checks the layer, uploads the manifest then the zip (whose event then finds the pair), checks the
 * zip's CRC-64 against OSS's, and waits for the result this upload caused.
 */
export async function publishLayer(client: OSS, options: PublishOptions, io: CliIo, json: boolean): Promise<PublishOutcome> {
  const check = await checkLayer(options.zipPath, options.manifestPath);
  if (!check.ok) return { kind: 'refused', check };
  if (!json) io.out(`${describeCheck(check)}\n`);
  const keys = layerKeys(`${options.prefix}${basename(options.zipPath, '.zip')}`);
  const manifestBytes = await readFile(options.manifestPath);
  const manifestUpload = await upload(client, () => client.put(keys.manifest, manifestBytes, { mime: 'application/json' } as OSS.PutObjectOptions), keys.manifest);
  const zipUpload = await uploadZip(client, options.zipPath, keys.zip, io, json);
  const expected = check.zip.crc64 ?? (await fileCrc64(options.zipPath));
  if (zipUpload.crc64 !== undefined && zipUpload.crc64 !== expected) {
    throw new ServiceError(`the upload of ${keys.zip} is corrupt: OSS reports CRC-64 ${zipUpload.crc64}, the file has ${expected}; upload again`, EXIT_FAILED);
  }
  if (!json) io.out(`uploaded  ${keys.manifest} and ${keys.zip} (CRC-64 ${zipUpload.crc64 ?? 'not reported'} matches); waiting for ${keys.result}\n`);
  const result = await waitForResult(client, keys.result, [zipUpload.requestId, manifestUpload.requestId], options.waitSeconds);
  return result === undefined ? { kind: 'timeout', keys } : { kind: 'result', result, keys };
}

interface Uploaded {
  requestId: string | undefined;
  crc64: string | undefined;
}

interface OssResponse {
  res: { headers: unknown };
}

async function upload(client: OSS, call: () => Promise<OssResponse>, key: string): Promise<Uploaded> {
  try {
    const { res } = await call();
    const headers = res.headers as Record<string, string | undefined>;
    return { requestId: headers['x-oss-request-id'], crc64: headers['x-oss-hash-crc64ecma'] };
  } catch (error) {
    throw ossFailure(client, `uploading ${key}`, error);
  }
}

async function uploadZip(client: OSS, path: string, key: string, io: CliIo, json: boolean): Promise<Uploaded> {
  const size = await sizeOf(path);
  const startedAt = Date.now();
  if (size < MULTIPART_FROM_BYTES) return upload(client, () => client.put(key, path, { mime: 'application/zip' } as OSS.PutObjectOptions), key);
  const meter = new TransferMeter(size);
  const bar = !json && io.interactive ? new SingleBar({ format: `uploading ${key} [{bar}] {percentage}% {done}/{size} {rate} ETA {left}` }) : undefined;
  bar?.start(size, 0, meter.tokens());
  // Stopped however the upload ends, so a failure's message is not printed over the bar.
  const uploaded = await upload(
    client,
    () =>
      client.multipartUpload(key, path, {
        partSize: PART_BYTES,
        mime: 'application/zip',
        // ali-oss reports the fraction of parts done, after each part.
        progress: async (fraction: number) => {
          const done = Math.round(fraction * size);
          meter.update(done);
          bar?.update(done, meter.tokens());
        },
      }) as Promise<OssResponse>,
    key,
  ).finally(() => bar?.stop());
  if (!json) io.out(`uploaded  ${formatBytes(size)} at ${formatRate(size, Date.now() - startedAt)}\n`);
  return uploaded;
}

/**
 * The result this upload caused: its event carries the upload's request id. A result from the
 * manifest's event that only says `waiting` is an earlier state; the zip's event follows it.
 */
async function waitForResult(client: OSS, resultKey: string, requestIds: (string | undefined)[], waitSeconds: number): Promise<PublishResult | undefined> {
  const [zipRequestId, manifestRequestId] = requestIds;
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const result = await readResult(client, resultKey);
    const byZip = result?.event.requestId !== undefined && result.event.requestId === zipRequestId;
    const byManifest = result?.event.requestId !== undefined && result.event.requestId === manifestRequestId && result.status !== 'waiting';
    if (result && (byZip || byManifest)) return result;
    if (Date.now() >= deadline) return undefined;
    await sleep(POLL_MS);
  }
}

export async function readResult(client: OSS, key: string): Promise<PublishResult | undefined> {
  try {
    const { content } = await client.get(key);
    return JSON.parse(Buffer.from(content as Uint8Array).toString('utf8')) as PublishResult;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw ossFailure(client, `reading ${key}`, error);
  }
}
