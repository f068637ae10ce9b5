import { describe, expect, it } from 'vitest';
import { FC_API_VERSIONS, type FcApiVersion } from '../../src/config';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, makeZip } from '../support/layers';
import { LAYER, RESULT_KEY, ZIP_KEY, arrange, creates, deliver, deliverUnder, diedAfterCreating, expectPublished, fcAction } from '../faults/scenario';

/**
 * Every publish path for each FC_API_VERSION, against FC as a new account
 * sees it (createTestCloud's `newAccount: true`: the FC scheme only on 2016-08-15): published,
 * unchanged, adoption after a crash, a create whose outcome is unknown, a codeChecksum mismatch.
 */
const env = useMswCloud();
const MANIFEST = { ...NODE_MANIFEST, license: 'MIT' };

describe.each(FC_API_VERSIONS)('FC_API_VERSION=%s, against a new account', (apiVersion: FcApiVersion) => {
  const options = { env: { FC_API_VERSION: apiVersion } };
  const fc3 = apiVersion === '2023-03-30';

  it('publishes, with the request of that API and its signature', async () => {
    const { cloud } = env;
    const { zip, zipEvent, check } = await arrange(cloud, { manifest: MANIFEST });

    const run = await deliver([zipEvent], options);

    expectPublished(run);
    const [create] = creates(cloud);
    expect(create).toMatchObject({ path: `/${apiVersion}/layers/${LAYER}/versions`, status: 200 });
    const location = { ossBucketName: TEST_BUCKET, ossObjectName: ZIP_KEY };
    const { description, compatibleRuntime } = NODE_MANIFEST;
    expect(create?.body).toEqual(
      fc3
        ? { code: { ...location, checksum: independentCrc64(zip) }, description, compatibleRuntime, license: 'MIT' }
        : { Code: location, description, compatibleRuntime },
    );
    if (apiVersion === '2016-08-15') expect(create?.headers).toMatchObject({ 'x-fc-account-id': expect.any(String), date: expect.any(String) });
    else expect(create?.headers).toMatchObject({ 'x-acs-version': apiVersion, 'x-acs-action': 'CreateLayerVersion', 'x-acs-date': expect.any(String) });
    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result?.arn).toBe(fc3 ? cloud.fc.versions(LAYER)[0]?.arnV2 : cloud.fc.versions(LAYER)[0]?.arn);
    expect(result?.layer).toMatchObject({
      codeChecksum: independentCrc64(zip),
      ...(fc3 ? { codeSize: zip.length, acl: '0', license: 'MIT' } : { codesize: zip.length }),
    });
    // Sent only to FC 3.0, recorded under every API (docs/contract.md §4).
    expect(result?.manifest).toMatchObject({ key: expect.stringMatching(/\.layer\.json$/), license: 'MIT' });
    await check([run]);
  });

  it('is unchanged when the latest version already holds this code, description and runtimes', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud, {
      prepare: ({ zip }) =>
        cloud.fc.seedVersion(LAYER, { code: zip, description: NODE_MANIFEST.description, compatibleRuntime: NODE_MANIFEST.compatibleRuntime }),
    });

    const run = await deliver([zipEvent], options);

    expect(run.summary?.[0]).toMatchObject({ status: 'unchanged', version: 1 });
    expect(creates(cloud)).toHaveLength(0);
    await check([run]);
  });

  it('adopts the version an attempt made before it died, and makes none', async () => {
    const { cloud } = env;
    const { zipEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: -1_000, intent: 0 });

    const run = await deliver([zipEvent], { ...options, timeoutSeconds: 10 });

    expectPublished(run, made.version);
    expect(creates(cloud)).toHaveLength(0);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: made.version, arn: fc3 ? made.arnV2 : made.arn });
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('adopts the version of a create whose answer was lost, and makes no second one', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 502, afterHandling: true }),
      { deliver: options },
    );

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([run]);
  });

  it('deletes a version whose codeChecksum is not the CRC read, and fails CodeChecksumMismatch', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => cloud.fc.reportWrongChecksumOnNextCreate(), { deliver: options });

    expect(run.summary?.[0]).toMatchObject({ status: 'failed' });
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'failed', error: { code: 'CodeChecksumMismatch', retryable: false } });
    expect(cloud.fc.versions(LAYER)).toHaveLength(0);
    expect(cloud.fc.requests.entries.filter((request) => request.action === 'DeleteLayerVersion')).toMatchObject([
      { path: `/${apiVersion}/layers/${LAYER}/versions/1`, status: 204 },
    ]);
    await check([run]);
  });
});

describe('runtimes beyond the 2021-04-06 list', () => {
  const python312 = { layerName: LAYER, compatibleRuntime: ['python3.12'] };
  const pythonZip = () => makeZip({ 'python/demo/__init__.py': 'VALUE = 1\n' });

  it('publishes python3.12 under FC 3.0, which lists it', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud, { zip: pythonZip(), manifest: python312 });
    const run = await deliver([zipEvent], { env: { FC_API_VERSION: '2023-03-30' } });
    expectPublished(run);
    expect(cloud.fc.versions(LAYER)[0]?.compatibleRuntime).toEqual(['python3.12']);
    await check([run]);
  });

  it('leaves python3.12 to FC under 2021-04-06, and says what FC answered when it refuses it', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud, { zip: pythonZip(), manifest: python312 });
    const run = await deliver([zipEvent]);
    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result).toMatchObject({ status: 'failed', error: { code: 'FcRejected', retryable: false } });
    expect(result?.error?.message).toContain('python3.12');
    expect(cloud.fc.versions(LAYER)).toEqual([]);
    await check([run]);
  });
});
