import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { type Fc2Error, fc2Client } from '../support/fc2';
import { patternBytes } from '../support/independent';
import { officialClient, officialFailure } from '../fc/official-sdks';
import { describeFcEmulator } from './fc-suite';

describe('FC emulator in-process (msw)', () => {
  const env = useMswCloud();
  describeFcEmulator(() => env.cloud);

  /** Lets fc2 sign a request, then alters it on the way to the emulator. */
  async function tampered(alter: (request: Request) => Promise<Request>): Promise<Fc2Error> {
    env.server.use(http.all('*', async ({ request }) => env.cloud.fc.handle(await alter(request))));
    await env.cloud.oss.putObject(TEST_BUCKET, 'ok.zip', patternBytes(100));
    const body = { Code: { ossBucketName: TEST_BUCKET, ossObjectName: 'ok.zip' }, compatibleRuntime: ['nodejs20'] };
    return fc2Client({ endpoint: env.cloud.fcEndpoint })
      .publishLayerVersion('Tampered', body)
      .then(
        () => expect.fail('a tampered request was accepted'),
        (error: unknown) => error as Fc2Error,
      );
  }

  it('refuses a request whose signed header was changed after signing', async () => {
    const error = await tampered(async (request) => {
      const headers = new Headers(request.headers);
      headers.set('x-fc-trace-id', 'injected');
      return new Request(request.url, { method: request.method, headers, body: await request.arrayBuffer() });
    });
    expect(error.code).toBe('SignatureNotMatch');
  });

  it('refuses a body that does not match its Content-MD5', async () => {
    const error = await tampered(async (request) => {
      const body = JSON.stringify({ ...((await request.json()) as object), description: 'changed' });
      return new Request(request.url, { method: request.method, headers: request.headers, body });
    });
    expect(error.code).toBe('InvalidArgument');
    expect(env.cloud.fc.versions('Tampered')).toEqual([]);
  });

  it("answers an ACS3 request on another account's endpoint with AccessDenied", async () => {
    const elsewhere = 'https://9999999999999999.cn-hangzhou.fc.aliyuncs.com';
    const error = await officialFailure(officialClient('2023-03-30', { endpoint: elsewhere }).list('Any', 1, 1));
    expect([error.statusCode, error.code]).toEqual([403, 'AccessDenied']);
    const mine = await officialClient('2023-03-30', { endpoint: env.cloud.fcEndpoint })
      .list('Any', 1, 1)
      .catch((thrown: { statusCode?: number }) => thrown.statusCode);
    expect(mine).toBe(404);
  });
});
