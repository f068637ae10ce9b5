import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { LAYER, MANIFEST_KEY, RESULT_KEY, ZIP_KEY, deliver, expectInvariants, fcAction, injected, seedPair, snapshot } from './scenario';

/** No stale result over a newer one (docs/contract.md §6), when the manifest is what changes. */
const env = useMswCloud();
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));

afterAll(() => {
  console.log(`stale results: ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

describe('the manifest replaced', () => {
  it("a bad manifest A fixed by B: A's events delivered again after B leave B's published result", async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent: manifestA } = await seedPair(cloud, { manifest: { ...NODE_MANIFEST, layerName: '../x' } });
    const before = await snapshot(cloud, [LAYER]);
    const failedRun = await deliver([zipEvent], { requestId: 'a' });
    expect(failedRun.summary?.[0]).toMatchObject({ status: 'failed', error: { code: 'ManifestInvalid' } });

    await nextSecond();
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
    const manifestB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY);
    const runB = await deliver([manifestB], { requestId: 'b' });
    const againA = await deliver([manifestA], { requestId: 'a-again' });
    const againZip = await deliver([zipEvent], { requestId: 'zip-again' });

    expect(runB.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(againA.summary).toEqual([{ key: MANIFEST_KEY, status: 'stale' }]);
    expect(againZip.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result).toMatchObject({ status: 'published', version: 1 });
    expect(result?.manifest?.etag?.replace(/"/g, '')).toBe(manifestB.oss.object.eTag);
    await expectInvariants(cloud, before, {
      layers: [LAYER],
      runs: [failedRun, runB, againA, againZip],
      latest: [{ resultKey: RESULT_KEY, etag: zipEvent.oss.object.eTag }],
      uploadedByTest: [MANIFEST_KEY],
    });
  });

  it("manifest B lands while A's create is in flight: A's result is not written over, B publishes its description", async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud, { manifest: { ...NODE_MANIFEST, description: 'A' } });
    const before = await snapshot(cloud, [LAYER]);
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), delayMs: 1_500 });
    injected.count += 1;

    const runA = deliver([zipEvent], { requestId: 'a' });
    while (!cloud.fc.requests.entries.some((request) => request.action === 'ListLayerVersions')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await nextSecond();
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes({ ...NODE_MANIFEST, description: 'B' }));
    const manifestB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY);
    const doneA = await runA;
    expect(await readJson(cloud, RESULT_KEY)).toBeUndefined();
    const runB = await deliver([manifestB], { requestId: 'b' });

    expect(runB.summary?.[0]).toMatchObject({ status: 'published' });
    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result?.layer).toMatchObject({ description: 'B' });
    expect(result?.manifest?.etag?.replace(/"/g, '')).toBe(manifestB.oss.object.eTag);
    expect(cloud.fc.versions(LAYER).map((version) => version.description)).toEqual(['A', 'B']);
    await expectInvariants(cloud, before, {
      layers: [LAYER],
      uploads: { [LAYER]: 2 },
      runs: [doneA, runB],
      uploadedByTest: [MANIFEST_KEY],
    });
  });
});

describe('the zip event delivered long after its zip was replaced', () => {
  it("A published, B published, then A's zip event again: stale, B's result stays", async () => {
    const { cloud } = env;
    const { zipEvent: eventA } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);
    const runA = await deliver([eventA], { requestId: 'a' });
    await nextSecond();
    const { zipEvent: eventB } = await seedPair(cloud, { zip: nodejsLayerZip('B') });
    const runB = await deliver([eventB], { requestId: 'b' });
    const lateA = await deliver([eventA], { requestId: 'a-late' });

    expect(lateA.summary).toEqual([{ key: ZIP_KEY, status: 'stale' }]);
    await expectInvariants(cloud, before, {
      layers: [LAYER],
      uploads: { [LAYER]: 2 },
      runs: [runA, runB, lateA],
      latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
      uploadedByTest: [ZIP_KEY, MANIFEST_KEY],
    });
  });
});
