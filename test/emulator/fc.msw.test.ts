import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { type Fc2Error, fc2Client } from '../support/fc2';
import { patternBytes } from '../support/independent';
import { describeFcEmulator } from './fc-suite';

describe('FC emulator in-process (msw)', () => {
  const env = useMswCloud();
  describeFcEmulator(() => env.cloud);

  /** Lets fc2 sign a request, then alters it on the way to the emulator. */
  async function tampered(alter: (request: Request) => Promise<Request>): Promise<Fc2Error> {
    env.server.use(http.all('*', async ({ request }) => env.cloud.fc.handle(await alter(request))));
    await env.cloud.oss.putObject(TEST_BUCKET, 'ok.zip', patternBytes(100));
    const body = { Code: { ossBucketName: TEST_BUCKET, ossObjectName: 'ok.zip' }, compatibleRuntime: ['nodejs20'] };
    return fc2Client({ endpoint: env.cloud.fcEndpoint }).publishLayerVersion('Tampered', body).then(
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
});
