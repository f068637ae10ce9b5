import { afterEach, describe, expect, it } from 'vitest';
import { serve, type LoopbackServer } from '../../src/emulator';
import { TransientError } from '../../src/errors';
import { createOssStore } from '../../src/oss/ali-oss-store';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';

let server: LoopbackServer | undefined;
afterEach(() => server?.close());

/** A server that answers every GET the same way, whatever Range was asked for. */
async function storeAnswering(status: number, headers: Record<string, string>, seen: Headers[] = []) {
  server = await serve(async (request) => {
    seen.push(request.headers);
    return new Response('0123456789', { status, headers: { etag: '"E"', 'content-length': '10', ...headers } });
  });
  return createOssStore({
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    endpoint: new URL(server.url),
    credentials: TEST_CREDENTIALS,
    timeoutMs: 5_000,
  });
}

describe('ranged GET through the ali-oss adapter', () => {
  it('asks for standard range behaviour and reports the object size from Content-Range', async () => {
    const seen: Headers[] = [];
    const store = await storeAnswering(206, { 'content-range': 'bytes 2-5/10', 'content-length': '4' }, seen);

    const { head } = await store.stream('k.zip', { ifMatch: 'E', range: { start: 2, end: 5 } });

    expect(seen[0]?.get('range')).toBe('bytes=2-5');
    expect(seen[0]?.get('x-oss-range-behavior')).toBe('standard');
    expect(head.size).toBe(10);
  });

  it.each([
    ['the whole object with 200', 200, {}],
    ['another range', 206, { 'content-range': 'bytes 0-3/10' }],
  ])('refuses %s as a TransientError', async (_name, status, headers) => {
    const store = await storeAnswering(status, headers);

    const failure = await store.stream('k.zip', { ifMatch: 'E', range: { start: 2, end: 5 } }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toContain('bytes 2-5');
  });
});
