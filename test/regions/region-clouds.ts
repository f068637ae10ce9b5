import { randomBytes } from 'node:crypto';
import { type FetchHandler, type LoopbackServer, type OssEmulator, createOssEmulator, serve } from '../../src/emulator';
import { createOssStore } from '../../src/oss/ali-oss-store';
import type { ObjectStore } from '../../src/oss/store';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS } from '../support/cloud';

/** One region's OSS: its own emulator (V4 only, signed for its region) on its own loopback port. */
export interface RegionOss {
  region: string;
  bucket: string;
  oss: OssEmulator;
  server: LoopbackServer;
  store: ObjectStore;
}

/** `wrap` sits between the socket and the emulator: what happens to bytes on the wire. */
export async function startRegionOss(region: string, bucket: string, wrap?: (handle: FetchHandler) => FetchHandler): Promise<RegionOss> {
  const oss = createOssEmulator({ accountId: TEST_ACCOUNT_ID, region, credentials: [TEST_CREDENTIALS], buckets: [bucket], newAccount: true });
  const server = await serve(wrap ? wrap(oss.handle) : oss.handle);
  const store = createOssStore({ bucket, region, endpoint: new URL(server.url), credentials: TEST_CREDENTIALS, timeoutMs: 60_000 });
  return { region, bucket, oss, server, store };
}

/**
 * Flips one byte of every request body that reaches `at` bytes and passes `match`, as a bad link or
 * NIC would. The signature holds: V4 signs the payload as UNSIGNED-PAYLOAD and ali-oss sends no
 * Content-MD5 for a stream, so only the CRC-64 can tell.
 */
export function corruptingBodies(at: number, match: (url: URL) => boolean): (handle: FetchHandler) => FetchHandler {
  return (handle) => async (request) => {
    if (request.body === null || !match(new URL(request.url))) return handle(request);
    const reader = request.body.getReader();
    let seen = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        let piece = value;
        if (at >= seen && at < seen + value.byteLength) {
          piece = Uint8Array.from(value);
          piece[at - seen]! ^= 0xff;
        }
        seen += value.byteLength;
        controller.enqueue(piece);
      },
    });
    return handle(new Request(request.url, { method: request.method, headers: request.headers, body, duplex: 'half' } as RequestInit));
  };
}

export async function seedZip(home: RegionOss, key: string, size: number) {
  const bytes = randomBytes(size);
  const meta = await home.oss.putObject(home.bucket, key, bytes, { contentType: 'application/zip' });
  const head = await home.store.head(key);
  if (head === undefined || meta.crc64 === undefined) throw new Error(`seeded ${key} is not there`);
  return { bytes, head, crc64: meta.crc64 };
}
