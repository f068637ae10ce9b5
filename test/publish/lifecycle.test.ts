import { describe, expect, it } from 'vitest';
import { FC_API_VERSIONS, type FcApiVersion, loadConfig } from '../../src/config';
import type { PublishResult } from '../../src/publish/result';
import { TEST_ACCOUNT_ID, TEST_BUCKET, type TestCloud, useMswCloud } from '../support/cloud';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { LAYER, MANIFEST_KEY, RESULT_KEY, ZIP_KEY, deliver, fcAction, seedPair } from '../faults/scenario';

/**
 * A layer's life after its publish: the manifest's `public` (PutLayerACL), `retain`
 * (older versions deleted after the result is written, except those a function uses), and the
 * provenance every result and audit record carries. Against FC and OSS as a new account sees them.
 */
const env = useMswCloud();

/** Uploads the pair (a zip of its own bytes per seed) and delivers the zip's event. */
async function publish(seed: string, manifest: object, options: { env?: Record<string, string>; requestId?: string } = {}) {
  const { zipEvent } = await seedPair(env.cloud, { zip: nodejsLayerZip(seed), manifest: { ...NODE_MANIFEST, ...manifest } });
  const run = await deliver([zipEvent], options);
  return { run, result: (await readJson<PublishResult>(env.cloud, RESULT_KEY))! };
}

async function auditRecords(cloud: TestCloud): Promise<Record<string, unknown>[]> {
  const keys = (await cloud.oss.listKeys(TEST_BUCKET, '_audit/records/')).sort();
  return Promise.all(
    keys.map(async (key) => JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8')) as Record<string, unknown>),
  );
}

const live = (cloud: TestCloud) => cloud.fc.versions(LAYER).map((v) => v.version);

describe.each(FC_API_VERSIONS)('FC_API_VERSION=%s', (apiVersion: FcApiVersion) => {
  const options = { env: { FC_API_VERSION: apiVersion } };

  it('"retain": 2 keeps the two newest versions and one a function uses; later publishes delete the rest', async () => {
    const { cloud } = env;
    expect((await publish('v1', { retain: 2 }, options)).result).toMatchObject({ status: 'published', version: 1 });
    cloud.fc.seedFunction({ serviceName: 'web', functionName: 'render', layers: [{ layerName: LAYER, version: 1 }] });
    cloud.fc.seedFunction({ serviceName: 'jobs', functionName: 'other-layer-user', layers: [] });
    await publish('v2', { retain: 2 }, options);

    const third = await publish('v3', { retain: 2 }, options);

    expect(third.result).toMatchObject({ status: 'published', version: 3, retention: { keep: 2, kept: [1], deleted: [], failed: [] } });
    expect(live(cloud)).toEqual([1, 2, 3]);
    const fourth = await publish('v4', { retain: 2 }, options);
    expect(fourth.result).toMatchObject({ status: 'published', version: 4, retention: { kept: [1], deleted: [2], failed: [] } });
    expect(live(cloud)).toEqual([1, 3, 4]);
    const retention = (await auditRecords(cloud)).filter((r) => r.kind === 'deleted' || r.kind === 'kept');
    expect(retention.map((r) => [r.kind, r.version, r.publishedVersion])).toEqual([
      ['kept', 1, 3],
      ['kept', 1, 4],
      ['deleted', 2, 4],
    ]);
    expect(retention[0]).toMatchObject({ status: 'kept', layerName: LAYER, reason: `in use by ${apiVersion === '2023-03-30' ? 'render' : 'web/render'}` });
    expect(retention[2]).toMatchObject({ status: 'deleted', reason: 'older than the 2 newest versions' });
    expect(retention[2]).not.toHaveProperty('dryRun');
    const listing = cloud.fc.requests.entries.filter((r) => r.action === 'ListFunctions' || r.action === 'ListServices').map((r) => r.path);
    expect(listing).toContain(apiVersion === '2023-03-30' ? '/2023-03-30/functions' : `/${apiVersion}/services`);
  });

  it('"public": true and false set the layer\'s ACL with the query of that API, recorded in the result', async () => {
    const { cloud } = env;
    const first = await publish('v1', { public: true }, options);

    expect(first.result).toMatchObject({ status: 'published', acl: { public: true, applied: true, fcRequestId: expect.any(String) } });
    const [put] = cloud.fc.requests.entries.filter((r) => r.action === 'PutLayerACL');
    expect(put).toMatchObject({
      method: 'PUT',
      path: `/${apiVersion}/layers/${LAYER}/acl`,
      status: 200,
      query: apiVersion === '2023-03-30' ? { acl: '1' } : { public: 'true' },
    });
    expect(cloud.fc.versions(LAYER).map((v) => v.acl)).toEqual([1]);
    await publish('v2', { public: false }, options);
    expect(cloud.fc.versions(LAYER).map((v) => v.acl)).toEqual([0, 0]);
    // Unset leaves it as it is: no call at all.
    const calls = cloud.fc.requests.entries.filter((r) => r.action === 'PutLayerACL').length;
    expect((await publish('v3', {}, options)).result).not.toHaveProperty('acl');
    expect(cloud.fc.requests.entries.filter((r) => r.action === 'PutLayerACL')).toHaveLength(calls);
  });

  it("records provenance: the uploader from the event, this invocation, FC's request id of the create", async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    const fromAlice = { ...manifestEvent, userIdentity: { principalId: 'RAM$team-a:203456789' }, requestParameters: { sourceIPAddress: '203.0.113.7' } };

    const zipRun = await deliver([{ ...zipEvent, userIdentity: { principalId: 'RAM$team-b:42' } }], { ...options, requestId: 'fn-zip' });
    expect(zipRun.summary).toMatchObject([{ status: 'published' }]);
    const result = (await readJson<PublishResult>(cloud, RESULT_KEY))!;
    const [create] = cloud.fc.requests.entries.filter((r) => r.action === 'CreateLayerVersion');
    expect(result.provenance).toEqual({
      zip: { principalId: 'RAM$team-b:42', sourceIp: '127.0.0.1', ossRequestId: zipEvent.responseElements.requestId, eventTime: zipEvent.eventTime },
      functionRequestId: 'fn-zip',
      fcRequestId: create?.requestId,
    });
    const [record] = (await auditRecords(cloud)).filter((r) => r.kind === 'result');
    expect(record?.provenance).toEqual(result.provenance);
    expect(JSON.stringify(record)).not.toContain('emulator-test-secret');
    // The manifest's event, delivered late, finds the upload settled and adds only its uploader:
    // to the result, and to the trail beside the one record of the decision.
    await deliver([fromAlice], { ...options, requestId: 'fn-manifest' });
    const alice = {
      principalId: 'RAM$team-a:203456789',
      sourceIp: '203.0.113.7',
      ossRequestId: manifestEvent.responseElements.requestId,
      eventTime: manifestEvent.eventTime,
    };
    expect((await readJson<PublishResult>(cloud, RESULT_KEY))?.provenance).toEqual({ ...result.provenance, manifest: alice });
    const records = await auditRecords(cloud);
    expect(records.map((r) => r.kind)).toEqual(['result', 'uploader']);
    expect(records[1]).toMatchObject({ role: 'manifest', uploader: alice, uploadId: records[0]!.uploadId });
    // Delivered again, both events add nothing more.
    await deliver([fromAlice, zipEvent], { ...options, requestId: 'fn-again' });
    expect(await auditRecords(cloud)).toHaveLength(2);
    expect(cloud.fc.requests.entries.filter((r) => r.action === 'CreateLayerVersion')).toHaveLength(1);
  });
});

describe('provenance across the two events of an upload', () => {
  it("the manifest first: its waiting result holds its uploader, and the zip's published result has both", async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.from(JSON.stringify(NODE_MANIFEST)));
    const manifestEvent = { ...(await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)), userIdentity: { principalId: 'RAM$ci:manifest-bot' } };
    await deliver([manifestEvent], { requestId: 'fn-1' });
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({
      status: 'waiting',
      provenance: { manifest: { principalId: 'RAM$ci:manifest-bot' }, functionRequestId: 'fn-1' },
    });

    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    const zipEvent = { ...(await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)), userIdentity: { principalId: 'RAM$dev:alice' } };
    await deliver([zipEvent], { requestId: 'fn-2' });

    const result = (await readJson<PublishResult>(cloud, RESULT_KEY))!;
    expect(result).toMatchObject({
      status: 'published',
      provenance: {
        zip: { principalId: 'RAM$dev:alice' },
        manifest: { principalId: 'RAM$ci:manifest-bot', ossRequestId: manifestEvent.responseElements.requestId },
        functionRequestId: 'fn-2',
      },
    });
  });

  it('zip and manifest copied in together, three times with "retain": 1 and "public": true: every result has retention, acl and both uploaders, and the trail one record per decision', async () => {
    const { cloud } = env;
    const manifest = { ...NODE_MANIFEST, retain: 1, public: true };
    for (const [round, seed] of ['v1', 'v2', 'v3'].entries()) {
      const { zipEvent, manifestEvent } = await seedPair(cloud, { zip: nodejsLayerZip(seed), manifest });
      const runs = await Promise.all([
        deliver([{ ...zipEvent, userIdentity: { principalId: 'RAM$dev:alice' } }], { requestId: `zip-${seed}` }),
        deliver([{ ...manifestEvent, userIdentity: { principalId: 'RAM$ci:bot' } }], { requestId: `manifest-${seed}` }),
      ]);
      expect(runs.map((run) => run.summary?.[0]?.status)).toEqual(['published', 'published']);
      const result = (await readJson<PublishResult>(cloud, RESULT_KEY))!;
      expect(result).toMatchObject({
        status: 'published',
        version: round + 1,
        acl: { public: true, applied: true },
        retention: { keep: 1, deleted: round === 0 ? [] : [round], kept: [], failed: [] },
        provenance: { zip: { principalId: 'RAM$dev:alice' }, manifest: { principalId: 'RAM$ci:bot' } },
      });
    }
    expect(live(cloud)).toEqual([3]);
    const records = await auditRecords(cloud);
    const decisions = records.filter((r) => r.kind === 'result');
    expect(decisions.map((r) => [r.status, r.version])).toEqual([
      ['published', 1],
      ['published', 2],
      ['published', 3],
    ]);
    expect(records.filter((r) => r.kind === 'deleted').map((r) => r.version)).toEqual([1, 2]);
    // Whichever event decided, the other's uploader is in its record or appended once beside it.
    for (const decision of decisions) {
      const appended = records.filter((r) => r.kind === 'uploader' && r.uploadId === decision.uploadId);
      const roles = [...Object.keys(decision.provenance as object), ...appended.map((r) => r.role as string)].filter((k) => k === 'zip' || k === 'manifest');
      expect(roles.sort()).toEqual(['manifest', 'zip']);
    }
  });

  it('a waiting result about another manifest lends nothing', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.from(JSON.stringify(NODE_MANIFEST)));
    await deliver([{ ...(await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)), userIdentity: { principalId: 'RAM$old:writer' } }]);
    // Replaced, and its own event lost: the waiting result describes the old manifest.
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.from(JSON.stringify({ ...NODE_MANIFEST, description: 'new' })));
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    await deliver([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    const result = (await readJson<PublishResult>(cloud, RESULT_KEY))!;
    expect(result.status).toBe('published');
    expect(result.provenance).not.toHaveProperty('manifest');
    expect(result.provenance?.zip?.principalId).toBe(TEST_ACCOUNT_ID);
  });
});

describe('retention that goes wrong never fails the publish', () => {
  it('a dry run deletes nothing and records what would go', async () => {
    const { cloud } = env;
    for (const seed of ['v1', 'v2']) await publish(seed, { retain: { keep: 1, dryRun: true } });

    const third = await publish('v3', { retain: { keep: 1, dryRun: true } });

    expect(third.result).toMatchObject({ status: 'published', version: 3, retention: { keep: 1, dryRun: true, deleted: [1, 2], kept: [], failed: [] } });
    expect(live(cloud)).toEqual([1, 2, 3]);
    expect(cloud.fc.requests.entries.filter((r) => r.action === 'DeleteLayerVersion')).toHaveLength(0);
    const wouldGo = (await auditRecords(cloud)).filter((r) => r.kind === 'deleted' && r.publishedVersion === 3);
    expect(wouldGo.map((r) => [r.version, r.dryRun])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it("RETAIN_VERSIONS applies when the manifest says nothing, and the manifest's retain wins over it", async () => {
    const { cloud } = env;
    const retainOne = { env: { RETAIN_VERSIONS: '1' } };
    await publish('v1', {}, retainOne);
    expect((await publish('v2', {}, retainOne)).result.retention).toMatchObject({ keep: 1, deleted: [1] });
    expect((await publish('v3', { retain: 5 }, retainOne)).result.retention).toMatchObject({ keep: 5, deleted: [] });
    expect(live(cloud)).toEqual([2, 3]);
    expect(() => loadConfig({ RETAIN_VERSIONS: '0' })).toThrow(/RETAIN_VERSIONS must be a whole number of versions to keep, 1 or more/);
  });

  it('a refused delete: published, the version stays, the failure recorded', async () => {
    const { cloud } = env;
    await publish('v1', {});
    cloud.fc.faults.inject({ match: fcAction('DeleteLayerVersion'), status: 403, code: 'AccessDenied', message: 'not allowed to delete' });

    const second = await publish('v2', { retain: 1 });

    expect(second.run.summary).toMatchObject([{ status: 'published', version: 2 }]);
    expect(second.run.error).toBeUndefined();
    expect(second.result.retention).toMatchObject({ deleted: [], failed: [{ version: 1, error: expect.stringContaining('AccessDenied') }] });
    expect(live(cloud)).toEqual([1, 2]);
    expect((await auditRecords(cloud)).filter((r) => r.kind === 'deleted')).toHaveLength(0);
  });

  it('a throttled ListFunctions: published, nothing deleted, the reason recorded', async () => {
    const { cloud } = env;
    await publish('v1', {});
    cloud.fc.faults.inject({ match: fcAction('ListServices'), status: 429, code: 'Throttling', message: 'slow down', times: Infinity });

    const second = await publish('v2', { retain: 1 });

    expect(second.run.summary).toMatchObject([{ status: 'published', version: 2 }]);
    expect(second.result.retention).toMatchObject({ deleted: [], kept: [], error: expect.stringMatching(/ListServices failed with HTTP 429 Throttling/) });
    expect(live(cloud)).toEqual([1, 2]);
    expect(cloud.fc.requests.entries.filter((r) => r.action === 'DeleteLayerVersion')).toHaveLength(0);
  });

  it('a refused PutLayerACL: published, the ACL recorded as not applied, with why', async () => {
    const { cloud } = env;
    cloud.fc.faults.inject({ match: fcAction('PutLayerACL'), status: 403, code: 'AccessDenied', message: 'fc:PutLayerACL is not allowed' });

    const first = await publish('v1', { public: true });

    expect(first.run.summary).toMatchObject([{ status: 'published', version: 1 }]);
    expect(first.run.error).toBeUndefined();
    expect(first.result.acl).toEqual({ public: true, applied: false, error: expect.stringContaining('fc:PutLayerACL is not allowed') });
    expect(cloud.fc.versions(LAYER).map((v) => v.acl)).toEqual([0]);
  });
});

describe('the manifest fields, checked before anything is published', () => {
  it.each([
    [{ retain: 0 }, /retain: must keep at least 1 version/],
    [{ retain: { keep: 2, dryrun: true } }, /retain/],
    [{ retain: '2' }, /retain/],
    [{ public: 'yes' }, /public/],
  ])('%j is refused with a message naming the field', async (fields, message) => {
    const { cloud } = env;
    const { run, result } = await publish('v1', fields);
    expect(run.summary).toMatchObject([{ status: 'failed', error: { code: 'ManifestInvalid' } }]);
    expect(result.error?.message).toMatch(message);
    expect(cloud.fc.versions(LAYER)).toEqual([]);
  });
});
