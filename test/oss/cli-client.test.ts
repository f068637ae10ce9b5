import { afterEach, describe, expect, it } from 'vitest';
import { ossClient } from '../../src/cli/oss';
import { CliError } from '../../src/console/io';
import { listResults } from '../../src/cli/results';
import { type LoopbackServer, type OssEmulator, createOssEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';

const KEYS = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_CREDENTIALS.accessKeySecret,
  ALIBABA_CLOUD_SECURITY_TOKEN: TEST_CREDENTIALS.securityToken,
};

/** What ali-oss was configured with; its typings do not expose `options`. */
function optionsOf(client: unknown): { region: string; authorizationV4: boolean } {
  return (client as { options: { region: string; authorizationV4: boolean } }).options;
}

function cliError(call: () => unknown): CliError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe("the CLI's OSS client: V4 with the bucket's region", () => {
  it.each([
    [{ region: 'cn-shanghai', endpoint: undefined }, 'oss-cn-shanghai'],
    [{ region: 'oss-cn-shanghai', endpoint: undefined }, 'oss-cn-shanghai'],
    [{ region: undefined, endpoint: 'https://oss-cn-beijing.aliyuncs.com' }, 'oss-cn-beijing'],
    [{ region: undefined, endpoint: 'https://oss-ap-southeast-1-internal.aliyuncs.com' }, 'oss-ap-southeast-1'],
    [{ region: undefined, endpoint: 'https://team-layers.oss-eu-central-1.aliyuncs.com' }, 'oss-eu-central-1'],
    [{ region: 'cn-beijing', endpoint: 'https://oss-cn-beijing.aliyuncs.com' }, 'oss-cn-beijing'],
  ])('%j signs for %s', (target, region) => {
    const options = optionsOf(ossClient({ bucket: TEST_BUCKET, ...target }, KEYS));
    expect(options).toMatchObject({ region, authorizationV4: true });
  });

  it('signs V1 only with OSS_SIGNATURE=v1, and names the variable for any other value', () => {
    expect(optionsOf(ossClient({ bucket: TEST_BUCKET, region: 'cn-hangzhou', endpoint: undefined }, { ...KEYS, OSS_SIGNATURE: 'v1' })).authorizationV4).toBe(
      false,
    );
    expect(cliError(() => ossClient({ bucket: TEST_BUCKET, region: 'cn-hangzhou', endpoint: undefined }, { ...KEYS, OSS_SIGNATURE: 'v5' })).message).toContain(
      'OSS_SIGNATURE',
    );
  });

  it('refuses a region that contradicts the endpoint, and an endpoint that names none without --region', () => {
    const clash = cliError(() => ossClient({ bucket: TEST_BUCKET, region: 'cn-shanghai', endpoint: 'https://oss-cn-beijing.aliyuncs.com' }, KEYS));
    expect(clash.message).toMatch(/--region cn-shanghai .*--endpoint oss-cn-beijing\.aliyuncs\.com.*cn-beijing/);
    const unnamed = cliError(() => ossClient({ bucket: TEST_BUCKET, region: undefined, endpoint: 'https://oss-accelerate.aliyuncs.com' }, KEYS));
    expect(unnamed.message).toContain('--region');
    expect(optionsOf(ossClient({ bucket: TEST_BUCKET, region: 'cn-hangzhou', endpoint: 'https://oss-accelerate.aliyuncs.com' }, KEYS)).region).toBe(
      'oss-cn-hangzhou',
    );
  });
});

describe("the CLI's OSS client against OSS", () => {
  let server: LoopbackServer | undefined;
  afterEach(() => server?.close());

  async function start(newAccount: boolean): Promise<{ oss: OssEmulator; endpoint: string }> {
    const oss = createOssEmulator({ accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS], buckets: [TEST_BUCKET], newAccount });
    server = await serve(oss.handle);
    return { oss, endpoint: server.url };
  }

  it("puts, lists and reads on a new account's bucket, where V1 is refused", async () => {
    const { oss, endpoint } = await start(true);
    const client = ossClient({ bucket: TEST_BUCKET, region: undefined, endpoint }, KEYS);
    await client.put('layers/a.layer.json', Buffer.from('{}'));
    expect((await client.list({ prefix: 'layers/', 'max-keys': 10 }, {})).objects.map((object) => object.name)).toEqual(['layers/a.layer.json']);
    expect((await client.get('layers/a.layer.json')).content.toString()).toBe('{}');
    const v1 = ossClient({ bucket: TEST_BUCKET, region: undefined, endpoint }, { ...KEYS, OSS_SIGNATURE: 'v1' });
    await expect(v1.get('layers/a.layer.json')).rejects.toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(oss.requests.entries.filter((request) => request.status === 200)).toHaveLength(3);
  });

  it('lists results of the whole bucket (no --prefix) signed V4', async () => {
    const { oss, endpoint } = await start(true);
    await oss.putObject(TEST_BUCKET, 'layers/a.result.json', Buffer.from(JSON.stringify({ status: 'published', layerName: 'a', version: 1 })));
    const rows = await listResults(ossClient({ bucket: TEST_BUCKET, region: undefined, endpoint }, KEYS), '', 0);
    expect(rows).toMatchObject([{ key: 'layers/a.result.json', status: 'published', layerName: 'a', version: 1 }]);
  });

  it('with OSS_SIGNATURE=v1, works against an old bucket', async () => {
    const { endpoint } = await start(false);
    const client = ossClient({ bucket: TEST_BUCKET, region: undefined, endpoint }, { ...KEYS, OSS_SIGNATURE: 'v1' });
    await client.put('k.txt', Buffer.from('old'));
    expect((await client.get('k.txt')).content.toString()).toBe('old');
  });
});
