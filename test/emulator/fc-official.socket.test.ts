import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Credential, type FetchHandler, type LoopbackServer, createFcEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type LoopbackCloud, startLoopbackCloud } from '../support/cloud';
import { type Fc2Error, fc2Client } from '../support/fc2';
import { independentCrc64, patternBytes } from '../support/independent';
import {
  OFFICIAL_API_VERSIONS,
  type OfficialApiVersion,
  type OfficialClientOptions,
  type OfficialSdkError,
  officialClient,
  officialFailure,
} from '../fc/official-sdks';

/**
 * The FC emulator driven by Alibaba's official SDKs (@alicloud/fc-open20210406, @alicloud/fc20230330)
 * over a loopback socket, in the new-account mode the publisher's tests use: their ACS3 requests
 * (`x-acs-date`, no `Date`) are accepted, and what FC refuses is refused with its documented error body.
 */
let cloud: LoopbackCloud;
let extra: LoopbackServer[] = [];
beforeEach(async () => {
  cloud = await startLoopbackCloud();
  extra = [];
});
afterEach(async () => {
  await Promise.all([cloud.close(), ...extra.map((server) => server.close())]);
});

async function served(handler: FetchHandler): Promise<string> {
  const server = await serve(handler);
  extra.push(server);
  return server.url;
}

const runtimes = ['python3.10', 'python3.9'];

describe.each(OFFICIAL_API_VERSIONS)('the official SDK of %s', (apiVersion: OfficialApiVersion) => {
  const sdk = (options: Partial<OfficialClientOptions> = {}) => officialClient(apiVersion, { endpoint: cloud.fcEndpoint, ...options });
  const fc3 = apiVersion === '2023-03-30';
  /** FC's code as the SDK reports it: FC 3.0's SDK parses its `Code`; 2021-04-06's leaves `errorCode` in the body. */
  const fcCode = (error: OfficialSdkError): string | undefined => (fc3 ? error.code : (error.data?.errorCode as string | undefined));

  it('publishes a zip from OSS, then gets, lists and deletes it', async () => {
    const bytes = patternBytes(70_001, 5);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/pillow.zip', bytes);
    const crc = independentCrc64(bytes);

    const created = await sdk().create('pillow', {
      bucket: TEST_BUCKET,
      key: 'layers/pillow.zip',
      compatibleRuntime: runtimes,
      description: 'pillow 10',
      ...(fc3 ? { checksum: crc, license: 'MIT' } : {}),
    });

    expect(created).toMatchObject({ layerName: 'pillow', version: 1, codeChecksum: crc, description: 'pillow 10', compatibleRuntime: runtimes });
    const arn = `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/pillow/versions/1`;
    if (fc3) expect(created).toMatchObject({ layerVersionArn: arn, codeSize: 70_001, acl: '0', license: 'MIT' });
    else expect(created).toMatchObject({ arn: expect.stringMatching(/^[0-9a-f]{32}#pillow#1$/), acl: 0 });
    // The 2021-04-06 SDK models Create's and Get's answers with different fields: compare what both have.
    expect(await sdk().get('pillow', 1)).toMatchObject({ layerName: 'pillow', version: 1, codeChecksum: crc, description: 'pillow 10' });

    const [logged] = cloud.fc.requests.entries;
    expect(logged).toMatchObject({ action: 'CreateLayerVersion', path: `/${apiVersion}/layers/pillow/versions`, status: 200 });
    expect(logged?.headers.date).toBeUndefined();
    expect(logged?.headers['x-acs-date']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(JSON.stringify(cloud.fc.requests.entries)).not.toContain(TEST_CREDENTIALS.securityToken);

    await sdk().delete('pillow', 1);
    expect(cloud.fc.versions('pillow')).toEqual([]);
  });

  it('lists the versions the local FC holds, page by page through nextVersion', async () => {
    const seeded = [1, 2, 3].map((n) => cloud.fc.seedVersion('held', { code: patternBytes(100, n), compatibleRuntime: ['nodejs20'] }));
    const first = await sdk().list('held', 1, 2);
    expect(first.layers?.map((layer) => layer.version)).toEqual([1, 2]);
    expect(first.nextVersion).toBe(3);
    const second = await sdk().list('held', 3, 2);
    expect(second.layers?.map((layer) => [layer.version, layer.codeChecksum])).toEqual([[3, seeded[2]?.codeChecksum]]);
    expect(second.nextVersion).toBeUndefined();
  });

  it("gets errors in its API's body, and the SDK's error carries FC's code, message and request id", async () => {
    const missing = await officialFailure(sdk().get('never', 1));
    const { requestId } = cloud.fc.requests.entries.at(-1)!;
    expect(missing.statusCode).toBe(404);
    if (fc3) {
      // FC 3.0's Error struct, which the SDK parses into its error.
      expect(missing.data).toEqual({ Code: 'LayerNotFound', Message: expect.stringContaining('does not exist'), RequestId: requestId });
      expect(missing.code).toBe('LayerNotFound');
      expect(missing.message).toBe(`LayerNotFound: code: 404, version 1 of layer never does not exist request id: ${requestId}`);
    } else {
      // FC 2.0's documented body: the SDK reads no code from it, so FC's code and message stay in `data`.
      expect(missing.data).toEqual({ errorCode: 'LayerNotFound', errorMessage: expect.stringContaining('does not exist'), statusCode: 404 });
    }

    const bad = await officialFailure(sdk().create('1-bad-name', { bucket: TEST_BUCKET, key: 'none.zip', compatibleRuntime: ['nodejs20'] }));
    expect([bad.statusCode, fcCode(bad)]).toEqual([400, 'InvalidArgument']);
  });

  it('is refused for a wrong secret, a wrong token, an unknown key, and a skewed clock', async () => {
    const cases: Array<[Partial<Credential>, number, string]> = [
      [{ accessKeySecret: 'not-the-secret' }, 403, 'SignatureNotMatch'],
      [{ securityToken: 'not-the-token' }, 403, 'InvalidAccessKeyID'],
      [{ accessKeyId: 'STS.unknown' }, 403, 'InvalidAccessKeyID'],
    ];
    for (const [change, status, code] of cases) {
      const error = await officialFailure(sdk({ credential: { ...TEST_CREDENTIALS, ...change } }).list('any', 1, 1));
      expect([error.statusCode, fcCode(error)], code).toEqual([status, code]);
      expect(JSON.stringify(error.data)).not.toContain(TEST_CREDENTIALS.accessKeySecret);
    }
    const skewed = createFcEmulator({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      credentials: [TEST_CREDENTIALS],
      readObject: async () => undefined,
      now: () => new Date(Date.now() + 16 * 60 * 1000),
    });
    const error = await officialFailure(sdk({ endpoint: await served(skewed.handle) }).list('any', 1, 1));
    expect([error.statusCode, fcCode(error)]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  /** The SDK signs, then the request is altered on its way to the emulator. */
  async function tampered(alter: (headers: Headers, url: URL, body: string) => { body?: string }) {
    const endpoint = await served(async (request) => {
      const headers = new Headers(request.headers);
      const url = new URL(request.url);
      const text = await request.text();
      const changed = alter(headers, url, text);
      return cloud.fc.handle(new Request(url, { method: request.method, headers, body: request.method === 'GET' ? null : (changed.body ?? text) }));
    });
    await cloud.oss.putObject(TEST_BUCKET, 'ok.zip', patternBytes(100));
    return sdk({ endpoint });
  }

  /** A tampering that sets one header after signing. */
  const settingHeader = (name: string, value: string) => (headers: Headers) => {
    headers.set(name, value);
    return {};
  };

  it.each<[string, (headers: Headers, url: URL, body: string) => { body?: string }, number, string]>([
    ['an x-acs header added after signing', settingHeader('x-acs-trace', 'injected'), 403, 'SignatureNotMatch'],
    ['a signed header changed', settingHeader('x-acs-signature-nonce', 'replayed-nonce'), 403, 'SignatureNotMatch'],
    ['the body changed', (_headers, _url, body) => ({ body: body.replace('ok.zip', 'ok.zip ') }), 400, 'InvalidArgument'],
    [
      'the path changed',
      (_headers, url) => {
        url.pathname = url.pathname.replace('/layers/l/', '/layers/m/');
        return {};
      },
      403,
      'SignatureNotMatch',
    ],
  ])('refuses a request with %s', async (_name, alter, status, code) => {
    const client = await tampered(alter);
    const error = await officialFailure(client.create('l', { bucket: TEST_BUCKET, key: 'ok.zip', compatibleRuntime: ['nodejs20'] }));
    expect([error.statusCode, fcCode(error)]).toEqual([status, code]);
    expect(cloud.fc.versions('l')).toEqual([]);
  });

  it('refuses a request sent again as it was (the same signature nonce)', async () => {
    let first: Request | undefined;
    const endpoint = await served(async (request) => {
      first ??= request.clone();
      return cloud.fc.handle(first.clone());
    });
    await sdk({ endpoint })
      .list('again', 1, 1)
      .catch(() => undefined);
    const error = await officialFailure(sdk({ endpoint }).list('again', 1, 1));
    expect([error.statusCode, fcCode(error)]).toEqual([403, 'SignatureNonceUsed']);
  });

  it('refuses a query changed after signing', async () => {
    const client = await tampered((_headers, url) => {
      url.searchParams.set('limit', '99');
      return {};
    });
    const error = await officialFailure(client.list('l', 1, 1));
    expect([error.statusCode, fcCode(error)]).toEqual([403, 'SignatureNotMatch']);
  });
});

describe('fc2 (2016-08-15) errors', () => {
  it("carry FC's message and request id in FC 2.0's documented body, and its code when FC answers PascalCase as fc2 reads it", async () => {
    const client = fc2Client({ endpoint: cloud.fcEndpoint });
    const camel = await client.getLayerVersion('never', 1).then(
      () => expect.fail('a missing layer was found'),
      (thrown: unknown) => thrown as Fc2Error,
    );
    const first = cloud.fc.requests.entries.at(-1)!;
    expect(first).toMatchObject({ apiVersion: '2016-08-15', status: 404, code: 'LayerNotFound' });
    expect(camel.message).toMatch(new RegExp(`failed with 404\\. requestid: ${first.requestId}, message: .*does not exist`));

    cloud.fc.errorCasing = 'PascalCase';
    const pascal = await client.getLayerVersion('never', 1).then(
      () => expect.fail('a missing layer was found'),
      (thrown: unknown) => thrown as Fc2Error,
    );
    expect(pascal.code).toBe('LayerNotFound');
    expect(pascal.message).toContain(`requestid: ${cloud.fc.requests.entries.at(-1)!.requestId}`);
  });
});

describe('FC 3.0 checks code.checksum against the code it fetches', () => {
  it('refuses a checksum that is not the CRC-64 of the bytes, and makes no version', async () => {
    const bytes = patternBytes(5000, 3);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/a.zip', bytes);
    const sdk = officialClient('2023-03-30', { endpoint: cloud.fcEndpoint });
    const wrong = (BigInt(independentCrc64(bytes)) ^ 1n).toString();

    const error = await officialFailure(sdk.create('checked', { bucket: TEST_BUCKET, key: 'layers/a.zip', compatibleRuntime: ['nodejs20'], checksum: wrong }));

    expect(error.statusCode).toBe(400);
    expect([error.code, error.data]).toMatchObject(['InvalidArgument', { Code: 'InvalidArgument', Message: expect.stringContaining(wrong) }]);
    expect(cloud.fc.versions('checked')).toEqual([]);
    const right = await sdk.create('checked', { bucket: TEST_BUCKET, key: 'layers/a.zip', compatibleRuntime: ['nodejs20'], checksum: independentCrc64(bytes) });
    expect(right).toMatchObject({ version: 1, codeChecksum: independentCrc64(bytes) });
  });

  it("takes only the lower-case code of FC 3.0, not 2021-04-06's Code", async () => {
    // fc2 signs any body on any path; an emulator that is not a new account lets it reach the body check.
    const old = createFcEmulator({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      credentials: [TEST_CREDENTIALS],
      readObject: (bucket, key) => cloud.oss.readObject(bucket, key),
    });
    await cloud.oss.putObject(TEST_BUCKET, 'layers/a.zip', patternBytes(10));
    const client = fc2Client({ endpoint: await served(old.handle), apiVersion: '2023-03-30' });
    const error = await client
      .publishLayerVersion('capital', { Code: { ossBucketName: TEST_BUCKET, ossObjectName: 'layers/a.zip' }, compatibleRuntime: ['nodejs20'] })
      .then(
        () => expect.fail('Code was taken on 2023-03-30'),
        (thrown: unknown) => thrown as Error,
      );
    expect(error.message).toContain('failed with 400');
    // fc2 reads FC 2.0's body only: FC 3.0's message reaches the log, not fc2's error.
    expect(old.requests.entries.at(-1)).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(old.versions('capital')).toEqual([]);
  });
});
