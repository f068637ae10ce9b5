import { describe, expect, it } from 'vitest';
import { createOssStore } from '../../src/oss/ali-oss-store';
import { FunctionMarkers } from '../../src/rollout/markers';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';

/**
 * One function's rollout markers over the OSS emulator (through the ali-oss adapter): each read
 * through its schema, and one that is not ours counts as absent (docs/rollout.md).
 */
const env = useMswCloud();
const FOLDER = '_audit/uploads/u1/rollout/cn-hangzhou/api-users/';
const INTENT = { before: ['arn-1'], after: ['arn-2'], requestId: 'req-a', ttlMs: 60_000 };
const DONE = { functionName: 'api-users', status: 'updated' as const, before: ['arn-1'], after: ['arn-2'] };

function markers(): FunctionMarkers {
  const store = createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 });
  return FunctionMarkers.of(store, '_audit/', 'u1', 'cn-hangzhou', 'api-users');
}

const planted = (name: string, body: string) => env.cloud.oss.putObject(TEST_BUCKET, FOLDER + name, Buffer.from(body));

describe('rollout markers', () => {
  it('are written under the function folder once: a second create gets the first writer\u2019s value', async () => {
    expect(markers().prefix).toBe(FOLDER);
    expect(await markers().createIntent(1, INTENT)).toEqual({ created: true, value: INTENT });
    const second = await markers().createIntent(1, { ...INTENT, requestId: 'req-b' });
    expect(second).toMatchObject({ created: false, value: INTENT });
    await markers().createDone(DONE);
    expect((await markers().readDone())?.value).toEqual(DONE);
  });

  it.each([
    ['not JSON', '{"functionName": "api-users", '],
    ['another shape', '{"functionName": "api-users", "status": "moved"}'],
    ['a field of the wrong type', '{"functionName": "api-users", "status": "updated", "before": "arn-1"}'],
  ])('a done.json that is %s counts as absent, and a create over it says so', async (_what, body) => {
    await planted('done.json', body);
    expect(await markers().readDone()).toBeUndefined();
    expect(await markers().createDone(DONE)).toEqual({ created: false, unreadable: true });
  });

  it('an unreadable intent or canary marker counts as absent too', async () => {
    await planted('intent-1.json', '{"before": ["arn-1"], "after": "arn-2"}');
    await planted('canary.json', '[]');
    expect(await markers().createIntent(1, INTENT)).toEqual({ created: false, unreadable: true });
    expect(await markers().createIntent(2, INTENT)).toEqual({ created: true, value: INTENT });
    expect(await markers().readCanary()).toBeUndefined();
  });

  it('one larger than a marker can be is not read', async () => {
    await planted('done.json', JSON.stringify({ ...DONE, reason: 'x'.repeat(70 * 1024) }));
    expect(await markers().readDone()).toBeUndefined();
  });
});
