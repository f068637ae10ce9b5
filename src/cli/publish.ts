import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type OSS from 'ali-oss';
import { SingleBar } from 'cli-progress';
import { layerKeys } from '../keys';
import type { PublishResult } from '../publish/result';
import { formatBytes, formatRate } from '../console/format';
import { checkLayer, describeCheck, sizeOf } from './check';
import { ossFailure } from './failures';
import { MULTIPART_FROM_BYTES, OnePassUpload, type Uploaded } from './one-pass-upload';
import { TransferMeter } from './progress';
import { EXIT_FAILED, ServiceError, type CliIo } from '../console/io';

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
 * Checks the layer and uploads the zip in the same read of the file (src/cli/one-pass-upload.ts): a zip
 * the checks refuse leaves nothing in the bucket. Then the manifest, then the zip's object (whose event
 * then finds the pair); checks the zip's CRC-64 against OSS's, and waits for the result this upload caused.
 */
export async function publishLayer(client: OSS, options: PublishOptions, io: CliIo, json: boolean): Promise<PublishOutcome> {
  const keys = layerKeys(`${options.prefix}${basename(options.zipPath, '.zip')}`);
  const size = await sizeOf(options.zipPath);
  const startedAt = Date.now();
  const meter = new TransferMeter(size);
  const bar =
    !json && io.interactive && size >= MULTIPART_FROM_BYTES
      ? new SingleBar({ format: `uploading ${keys.zip} [{bar}] {percentage}% {done}/{size} {rate} ETA {left}` })
      : undefined;
  const zipUpload = new OnePassUpload(client, keys.zip, size, (done) => {
    meter.update(done);
    bar?.update(done, meter.tokens());
  });
  bar?.start(size, 0, meter.tokens());
  let zipUploaded: Uploaded;
  let manifestUpload: Uploaded;
  let manifestBytes: Buffer;
  let check: Awaited<ReturnType<typeof checkLayer>>;
  // Stopped however the upload ends, so a failure's message is not printed over the bar.
  try {
    check = await checkLayer(options.zipPath, options.manifestPath, undefined, zipUpload.tap);
    if (!check.ok) {
      bar?.stop();
      await zipUpload.abort();
      return { kind: 'refused', check };
    }
    manifestBytes = await readFile(options.manifestPath);
    manifestUpload = await upload(client, () => client.put(keys.manifest, manifestBytes, { mime: 'application/json' } as OSS.PutObjectOptions), keys.manifest);
    zipUploaded = await zipUpload.complete();
  } catch (error) {
    await zipUpload.abort().catch(() => undefined);
    throw error;
  } finally {
    bar?.stop();
  }
  if (!json) io.out(`${describeCheck(check)}\nuploaded  ${formatBytes(size)} at ${formatRate(size, Date.now() - startedAt)}, checked in the same read\n`);
  const expected = check.zip.crc64;
  if (zipUploaded.crc64 !== undefined && zipUploaded.crc64 !== expected) {
    throw new ServiceError(
      `the upload of ${keys.zip} is corrupt: OSS reports CRC-64 ${zipUploaded.crc64}, the file has ${expected}; upload again`,
      EXIT_FAILED,
    );
  }
  if (!json) io.out(`uploaded  ${keys.manifest} and ${keys.zip} (CRC-64 ${zipUploaded.crc64 ?? 'not reported'} matches); waiting for ${keys.result}\n`);
  const rollout = (JSON.parse(manifestBytes.toString('utf8')) as { rollout?: unknown }).rollout !== undefined;
  const result = await waitForResult(client, keys.result, [zipUploaded.requestId, manifestUpload.requestId], options.waitSeconds, rollout);
  return result === undefined ? { kind: 'timeout', keys } : { kind: 'result', result, keys };
}

async function upload(client: OSS, call: () => Promise<{ res: { headers: unknown } }>, key: string): Promise<Uploaded> {
  try {
    const { res } = await call();
    const headers = res.headers as Record<string, string | undefined>;
    return { requestId: headers['x-oss-request-id'], crc64: headers['x-oss-hash-crc64ecma'] };
  } catch (error) {
    throw ossFailure(client, `uploading ${key}`, error);
  }
}

/**
 * The result this upload caused: its event carries the upload's request id. A result from the
 * manifest's event that only says `waiting` is an earlier state; the zip's event follows it. With a
 * `rollout` in the manifest, a decision's result is written before the rollout adds its entry
 * (docs/rollout.md, "Limits"): it is waited for too, and past the wait the result is given as it is.
 */
async function waitForResult(
  client: OSS,
  resultKey: string,
  requestIds: (string | undefined)[],
  waitSeconds: number,
  rollout: boolean,
): Promise<PublishResult | undefined> {
  const [zipRequestId, manifestRequestId] = requestIds;
  const deadline = Date.now() + waitSeconds * 1000;
  let caused: PublishResult | undefined;
  for (;;) {
    const result = await readResult(client, resultKey);
    const byZip = result?.event.requestId !== undefined && result.event.requestId === zipRequestId;
    const byManifest = result?.event.requestId !== undefined && result.event.requestId === manifestRequestId && result.status !== 'waiting';
    if (result && (byZip || byManifest)) {
      caused = result;
      const decided = result.status === 'published' || result.status === 'unchanged';
      if (!rollout || !decided || result.rollout !== undefined) return result;
    }
    if (Date.now() >= deadline) return caused;
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
