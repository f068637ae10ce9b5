import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropCutRequestEchoes } from '../../src/cli/cut-request-echo';
import { OnePassUpload, PART_BYTES } from '../../src/cli/one-pass-upload';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { ossFlags, runCommand, useLoopbackCloud } from '../report/published-trail';

/**
 * `layer-publisher publish` reads the zip once: the read that checks it feeds the upload's parts
 * (src/cli/one-pass-upload.ts). Against the local OSS over a socket, seen through ali-oss, Alibaba's own client.
 */
const env = useLoopbackCloud();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'one-pass-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** 36 MiB of stored entries: five 8 MiB parts, the last entry at the end of the file. */
function bigZip(seed: number): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (let index = 0; index < 3; index++) entries[`python/big/data${index}.bin`] = patternBytes(12 * 1024 * 1024, seed + index);
  entries['python/big/__init__.py'] = new Uint8Array();
  return Buffer.from(zipSync(entries, { level: 0, mtime: new Date('2026-01-01T00:00:00Z') }));
}

async function layerFiles(name: string, zip: Buffer): Promise<string> {
  const path = join(dir, `${name}.zip`);
  await writeFile(path, zip);
  await writeFile(join(dir, `${name}.layer.json`), JSON.stringify({ layerName: name, compatibleRuntime: ['python3.10'] }));
  return path;
}

function aliOss(): OSS {
  return new OSS({
    bucket: TEST_BUCKET,
    region: `oss-${TEST_REGION}`,
    ...TEST_CREDENTIALS,
    stsToken: TEST_CREDENTIALS.securityToken,
    endpoint: env.cloud.ossEndpoint,
    secure: false,
    authorizationV4: true,
    ...({ sldEnable: true } as object),
  });
}

async function pendingUploads(): Promise<unknown[]> {
  const listed = (await aliOss().listUploads({})) as { uploads?: unknown[] };
  return listed.uploads ?? [];
}

const operations = (name: string) => env.cloud.oss.requests.filter((request) => request.operation === name);

describe('layer-publisher publish, one read of the file', () => {
  it('uploads the parts as the checks read them, and the object is the file', async () => {
    const zip = bigZip(1);
    const path = await layerFiles('whole', zip);

    const run = await runCommand('publish', path, ...ossFlags(env.cloud), '--prefix', 'layers/', '--wait', '0');

    // 3: uploaded and checked; no publisher runs here to write a result.
    expect(run.code).toBe(3);
    expect(run.out).toContain('ok: the function would accept this layer');
    expect(run.out).toContain(`(CRC-64 ${independentCrc64(zip)} matches)`);
    const stored = Buffer.from((await env.cloud.oss.readObject(TEST_BUCKET, 'layers/whole.zip'))!);
    expect(stored.equals(zip)).toBe(true);
    expect(
      operations('UploadPart')
        .map((request) => Number(request.query.partNumber))
        .sort((a, b) => a - b),
    ).toEqual([1, 2, 3, 4, 5]);
    expect(await pendingUploads()).toEqual([]);
    // The manifest went up before the zip's object was made, so the zip's event finds the pair.
    const order = env.cloud.oss.requests.entries.map((request) => request.operation);
    expect(order.indexOf('PutObject')).toBeLessThan(order.indexOf('CompleteMultipartUpload'));
  });

  it('aborts the upload when the checks refuse the zip late in the read, leaving nothing behind', async () => {
    const zip = bigZip(7);
    // A byte of the last entry's data: its CRC-32 no longer matches, found only when that entry is read.
    zip.writeUInt8(zip.readUInt8(zip.length - 4096) ^ 0xff, zip.length - 4096);
    const path = await layerFiles('broken', zip);

    const run = await runCommand('publish', path, ...ossFlags(env.cloud), '--prefix', 'layers/', '--wait', '0');

    expect(run.code).toBe(1);
    expect(run.out).toMatch(/error\s+ZipInvalid .*CRC-32/);
    expect(run.out).toContain('not uploaded');
    // Parts had gone up while the read went on; the abort took them all back.
    expect(operations('UploadPart').length).toBeGreaterThan(0);
    expect(operations('AbortMultipartUpload')).toHaveLength(1);
    expect(await pendingUploads()).toEqual([]);
    expect(await env.cloud.oss.listKeys(TEST_BUCKET, 'layers/')).toEqual([]);
  });

  it('sends a small zip in one PUT of the bytes it read', async () => {
    const zip = Buffer.from(zipSync({ 'python/small/__init__.py': new TextEncoder().encode('x = 1\n') }));
    const path = await layerFiles('small', zip);

    const run = await runCommand('publish', path, ...ossFlags(env.cloud), '--prefix', 'layers/', '--wait', '0');

    expect(run.code).toBe(3);
    expect(Buffer.from((await env.cloud.oss.readObject(TEST_BUCKET, 'layers/small.zip'))!).equals(zip)).toBe(true);
    expect(operations('InitiateMultipartUpload')).toEqual([]);
  });
});

describe('OnePassUpload, fed in the order a read gives', () => {
  /** The file's chunks, `chunkBytes` each (the last shorter), with their positions. */
  function chunksOf(file: Uint8Array, chunkBytes: number): { chunk: Uint8Array; position: number }[] {
    const chunks = [];
    for (let position = 0; position < file.length; position += chunkBytes) chunks.push({ chunk: file.subarray(position, position + chunkBytes), position });
    return chunks;
  }

  it('makes the object of bytes given in any order: each part streams in order, bytes ahead of their turn wait', async () => {
    // Three parts and a short fourth; 700 KiB chunks straddle the part boundaries.
    const file = patternBytes(3 * PART_BYTES + 12_345, 11);
    const upload = new OnePassUpload(aliOss(), 'layers/reversed.zip', file.length);

    // Backwards: every part's bytes come before its first byte, as the tail and a run's first bytes do.
    for (const { chunk, position } of chunksOf(file, 700 * 1024).reverse()) await upload.tap(chunk, position);
    const uploaded = await upload.complete();

    expect(Buffer.from((await env.cloud.oss.readObject(TEST_BUCKET, 'layers/reversed.zip'))!).equals(Buffer.from(file))).toBe(true);
    expect(uploaded.crc64).toBe(independentCrc64(file));
    expect(
      operations('UploadPart')
        .map((request) => Number(request.query.partNumber))
        .sort((a, b) => a - b),
    ).toEqual([1, 2, 3, 4]);
  });

  it('aborts with a part half sent: its request is cut, and nothing stays behind', async () => {
    const file = patternBytes(2 * PART_BYTES + 1, 12);
    const upload = new OnePassUpload(aliOss(), 'layers/cut.zip', file.length);
    // The first 3 MiB of part 1: its request is under way, waiting for the rest of its body.
    for (const { chunk, position } of chunksOf(file.subarray(0, 3 * 1024 * 1024), 1024 * 1024)) await upload.tap(chunk, position);

    await upload.abort();

    expect(operations('AbortMultipartUpload')).toHaveLength(1);
    expect(await pendingUploads()).toEqual([]);
    expect(await env.cloud.oss.listKeys(TEST_BUCKET, 'layers/')).toEqual([]);
    // The read that goes on after the abort is refused, not uploaded.
    await expect(upload.tap(file.subarray(3 * 1024 * 1024, 4 * 1024 * 1024), 3 * 1024 * 1024)).rejects.toThrow(/aborted|uploading part 1/);
  });

  it('a cut part makes urllib print "callback twice" (src/cli/cut-request-echo.ts), which the filter drops and nothing else', async () => {
    const cutPart = async (key: string) => {
      const upload = new OnePassUpload(aliOss(), key, 2 * PART_BYTES);
      await upload.tap(patternBytes(1024 * 1024, 5), 0);
      await upload.abort();
    };
    const urllibLines = (calls: unknown[][]) => calls.filter(([format]) => String(format).startsWith('[urllib:warn]'));
    const realWarn = console.warn;
    const seen = vi.fn();
    console.warn = seen;
    try {
      // Unfiltered, the echo arrives once the cut socket closes: the case the filter is for is real.
      await cutPart('layers/echo-unfiltered.zip');
      await vi.waitFor(() => expect(seen.mock.calls.some(([format]) => String(format).endsWith('callback twice!!!'))).toBe(true), { timeout: 5000 });

      seen.mockClear();
      const filter = dropCutRequestEchoes(console);
      try {
        await cutPart('layers/echo-filtered.zip');
        await vi.waitFor(() => expect(filter.dropped).toBeGreaterThan(0), { timeout: 5000 });
        expect(urllibLines(seen.mock.calls)).toEqual([]);
      } finally {
        filter.remove();
      }
    } finally {
      console.warn = realWarn;
    }
    expect(await pendingUploads()).toEqual([]);
  });

  it('reads no more than 16 MiB ahead of the sockets, though five parts may be in flight', async () => {
    const MiB = 1024 * 1024;
    // Sockets that take nothing until told: what each part's request was given to send.
    const bodies: { stream: NodeJS.ReadableStream; size: number }[] = [];
    const client = {
      initMultipartUpload: async () => ({ uploadId: 'upload-1' }),
      _uploadPart: (_key: string, _uploadId: string, _partNo: number, body: { stream: NodeJS.ReadableStream; size: number }) => {
        bodies.push(body);
        return new Promise<never>(() => undefined);
      },
    };
    // Only the two calls the read makes; a part's answer never comes, so the read's lead is all there is to see.
    const upload = new OnePassUpload(client as unknown as OSS, 'layers/paced.zip', 5 * PART_BYTES);
    const settledBeforeNextTurn = (tap: Promise<void>) =>
      Promise.race([tap.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);

    let accepted = 0;
    let waiting: Promise<void> | undefined;
    while (waiting === undefined) {
      const tap = Promise.resolve(upload.tap(new Uint8Array(MiB), accepted));
      if (await settledBeforeNextTurn(tap)) accepted += MiB;
      else waiting = tap;
    }

    // Two whole parts and the third begun are in their bodies; the 17th MiB waits for a socket.
    expect(accepted).toBe(16 * MiB);
    expect(bodies.map((body) => body.size)).toEqual([PART_BYTES, PART_BYTES, PART_BYTES]);
    bodies[0]!.stream.resume();
    await waiting;
  });
});
