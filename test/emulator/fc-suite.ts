import { beforeEach, describe, expect, it } from 'vitest';
import type { LayerVersion } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type TestCloud } from '../support/cloud';
import { type Fc2ClientOptions, type Fc2Error, type Fc2TestClient, fc2Client } from '../support/fc2';
import { independentCrc64, patternBytes } from '../support/independent';

async function fcFailure(call: Promise<unknown>): Promise<Fc2Error> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as Fc2Error;
}

const layerBody = (key: string, extra: object = {}) => ({
  Code: { ossBucketName: TEST_BUCKET, ossObjectName: key },
  description: 'pillow 10',
  compatibleRuntime: ['python3.10', 'python3.9'],
  ...extra,
});

/**
 * The FC behaviour every transport must show, driven through the real @alicloud/fc2 client. fc2 reads
 * an error's code only from PascalCase `ErrorCode` (docs/reference/alibaba-cloud.md §0.8), so these tests ask for it;
 * the documented camelCase default is driven through the official SDKs (fc-official.socket.test.ts).
 */
export function describeFcEmulator(currentCloud: () => TestCloud): void {
  beforeEach(() => {
    currentCloud().fc.errorCasing = 'PascalCase';
  });
  const client = (options: Partial<Fc2ClientOptions> = {}): Fc2TestClient => fc2Client({ endpoint: currentCloud().fcEndpoint, ...options });
  const seedZip = async (key: string, bytes = patternBytes(5000)): Promise<Uint8Array> => {
    await currentCloud().oss.putObject(TEST_BUCKET, key, bytes);
    return bytes;
  };

  describe('CreateLayerVersion', () => {
    it('publishes a zip from OSS with its CRC-64 and size, and logs the exact request', async () => {
      const bytes = await seedZip('layers/团队 a+b.zip', patternBytes(70_001, 5));
      const body = layerBody('layers/团队 a+b.zip');
      const { data } = await client().publishLayerVersion('MyLayer', body);

      expect(data).toMatchObject({
        layerName: 'MyLayer',
        version: 1,
        description: 'pillow 10',
        compatibleRuntime: ['python3.10', 'python3.9'],
        codeChecksum: independentCrc64(bytes),
        codesize: 70_001,
        code: { repositoryType: 'OSS' },
        acl: 0,
        arnV2: `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/MyLayer/versions/1`,
      });
      expect((data as LayerVersion).arn).toMatch(/^[0-9a-f]{32}#MyLayer#1$/);
      expect(Number.isNaN(Date.parse((data as LayerVersion).createTime))).toBe(false);

      const [logged] = currentCloud().fc.requests.entries;
      expect(logged).toMatchObject({
        action: 'CreateLayerVersion',
        method: 'POST',
        path: '/2016-08-15/layers/MyLayer/versions',
        layerName: 'MyLayer',
        body,
        status: 200,
      });
      expect(logged?.headers).toMatchObject({ 'content-type': 'application/json', 'x-fc-account-id': TEST_ACCOUNT_ID });
      expect(JSON.stringify(logged)).not.toContain(TEST_CREDENTIALS.securityToken);
    });

    it('publishes inline zipFile code', async () => {
      const bytes = patternBytes(1234, 9);
      const { data } = await client().publishLayerVersion('Inline', {
        Code: { zipFile: Buffer.from(bytes).toString('base64') },
        compatibleRuntime: ['nodejs20'],
      });
      expect(data).toMatchObject({ codeChecksum: independentCrc64(bytes), codesize: 1234, description: '' });
    });

    it('refuses what the service refuses: a missing object, an unknown runtime, a bad layer name, no Code', async () => {
      await seedZip('ok.zip');
      const refusals: Array<[string, object]> = [
        ['MyLayer', layerBody('missing.zip')],
        ['MyLayer', layerBody('ok.zip', { compatibleRuntime: ['nodejs22'] })],
        ['MyLayer', layerBody('ok.zip', { compatibleRuntime: [] })],
        ['1starts-with-digit', layerBody('ok.zip')],
        ['MyLayer', { compatibleRuntime: ['nodejs20'] }],
      ];
      for (const [name, body] of refusals) {
        const error = await fcFailure(client().publishLayerVersion(name, body));
        expect(error.code, JSON.stringify(body)).toBe('InvalidArgument');
        expect(error.message).toContain('failed with 400');
      }
      expect(currentCloud().fc.versions('MyLayer')).toEqual([]);
    });

    it('reports a wrong codeChecksum once when asked to', async () => {
      const bytes = await seedZip('ok.zip');
      currentCloud().fc.reportWrongChecksumOnNextCreate();
      const wrong = await client().publishLayerVersion('MyLayer', layerBody('ok.zip'));
      expect((wrong.data as LayerVersion).codeChecksum).not.toBe(independentCrc64(bytes));
      const right = await client().publishLayerVersion('MyLayer', layerBody('ok.zip'));
      expect((right.data as LayerVersion).codeChecksum).toBe(independentCrc64(bytes));
    });
  });

  describe('versions', () => {
    it('numbers versions per layer, never reusing a deleted number, and pages the list', async () => {
      await seedZip('ok.zip');
      for (let i = 0; i < 3; i++) await client().publishLayerVersion('Paged', layerBody('ok.zip'));
      await client().publishLayerVersion('Other', layerBody('ok.zip'));
      await client().deleteLayerVersion('Paged', 3);
      const fourth = await client().publishLayerVersion('Paged', layerBody('ok.zip'));
      expect((fourth.data as LayerVersion).version).toBe(4);

      const first = await client().listLayerVersions('Paged', { startVersion: 1, limit: 2 });
      expect(first.data).toMatchObject({ nextVersion: 4 });
      expect((first.data as { layers: LayerVersion[] }).layers.map((v) => v.version)).toEqual([1, 2]);
      const second = await client().listLayerVersions('Paged', { startVersion: 4, limit: 2 });
      expect((second.data as { layers: LayerVersion[] }).layers.map((v) => v.version)).toEqual([4]);
      expect(second.data).not.toHaveProperty('nextVersion');

      expect((await client().getLayerVersion('Paged', 2)).data).toMatchObject({ layerName: 'Paged', version: 2 });
      const deleted = await fcFailure(client().getLayerVersion('Paged', 3));
      expect([deleted.code, deleted.name]).toEqual(['LayerNotFound', 'FCLayerNotFoundError']);
    });

    it('answers LayerNotFound for a layer that never had a version, and an empty list after deletes', async () => {
      expect((await fcFailure(client().listLayerVersions('Never', { startVersion: 1, limit: 10 }))).code).toBe('LayerNotFound');
      currentCloud().fc.seedVersion('Gone', { code: patternBytes(10) });
      await client().deleteLayerVersion('Gone', 1);
      expect((await client().listLayerVersions('Gone', { startVersion: 1, limit: 10 })).data).toEqual({ layers: [] });
      expect((await fcFailure(client().deleteLayerVersion('Gone', 1))).code).toBe('LayerNotFound');
    });

    it("takes the 2016-08-15 sample's lower-case code, but serves no unconfigured API version", async () => {
      await seedZip('ok.zip');
      const old = await client().publishLayerVersion('Old', { code: { ossBucketName: TEST_BUCKET, ossObjectName: 'ok.zip' }, compatibleRuntime: ['nodejs20'] });
      expect(old.data).toMatchObject({ version: 1 });
      expect((await fcFailure(client({ apiVersion: '2017-03-03' }).publishLayerVersion('New', layerBody('ok.zip')))).code).toBe('PathNotSupported');
    });

    it('as a new account, refuses the FC scheme on 2021-04-06 and 2023-03-30 before anything else', async () => {
      await seedZip('ok.zip');
      for (const apiVersion of ['2021-04-06', '2023-03-30']) {
        const error = await fcFailure(client({ apiVersion }).publishLayerVersion('New', layerBody('ok.zip')));
        expect(error.message).toContain('failed with 403');
        expect(currentCloud().fc.requests.entries.at(-1)).toMatchObject({ apiVersion, status: 403, code: 'AccessDenied' });
        // fc2 reads FC 2.0's error body only; FC 3.0 answers `{Code, Message, RequestId}`, which it cannot.
        if (apiVersion === '2021-04-06') expect([error.code, error.message]).toEqual(['AccessDenied', expect.stringContaining('ACS3-HMAC-SHA256')]);
      }
      expect(currentCloud().fc.versions('New')).toEqual([]);
    });
  });

  describe('signatures', () => {
    it('refuses a wrong secret, a wrong token and an unknown key', async () => {
      const cases: Array<[Partial<Fc2ClientOptions>, string]> = [
        [{ accessKeySecret: 'not-the-secret' }, 'SignatureNotMatch'],
        [{ securityToken: 'not-the-token' }, 'InvalidAccessKeyID'],
        [{ accessKeyID: 'STS.unknown' }, 'InvalidAccessKeyID'],
        // A key without the STS prefix makes fc2 drop the token: the STS credential is then unusable.
        [{ accessKeyID: 'LTAIplainKey' }, 'InvalidAccessKeyID'],
      ];
      for (const [options, code] of cases) {
        const error = await fcFailure(client(options).listLayerVersions('Any', { startVersion: 1, limit: 1 }));
        expect(error.code, code).toBe(code);
        expect(error.message).not.toContain(TEST_CREDENTIALS.accessKeySecret);
      }
      expect(currentCloud().fc.requests.entries.every((entry) => entry.status === 403)).toBe(true);
    });
  });

  describe('test knobs', () => {
    it('answers the nth matching call with an injected error, in camelCase when asked', async () => {
      await seedZip('ok.zip');
      currentCloud().fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, code: 'ServiceUnavailable' });
      const error = await fcFailure(client().publishLayerVersion('Flaky', layerBody('ok.zip')));
      expect(error.code).toBe('ServiceUnavailable');
      expect(error.message).toContain('failed with 503');
      expect(currentCloud().fc.versions('Flaky')).toEqual([]);

      currentCloud().fc.errorCasing = 'camelCase';
      const camel = await fcFailure(client().getLayerVersion('Flaky', 1));
      expect([camel.code, camel.name]).toEqual([undefined, 'FCundefinedError']);
      expect(camel.message).toContain('does not exist');
    });

    it('can make a version and still fail the call, after a delay', async () => {
      await seedZip('ok.zip');
      currentCloud().fc.faults.inject({
        match: (t) => t.action === 'CreateLayerVersion',
        delayMs: 50,
        status: 500,
        code: 'InternalServerError',
        afterHandling: true,
      });
      const started = Date.now();
      expect((await fcFailure(client().publishLayerVersion('Unknown', layerBody('ok.zip')))).code).toBe('InternalServerError');
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
      expect(
        currentCloud()
          .fc.versions('Unknown')
          .map((v) => v.version),
      ).toEqual([1]);
    });
  });
}
