import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { LAYER, MANIFEST_KEY, RESULT_KEY, ZIP_KEY, creates, deliver, expectInvariants, fcAction, injected, seedPair, snapshot } from './scenario';

/** At-least-once, concurrent delivery (CONTRACT §7): many instances run the same event at once. */
const env = useMswCloud();
const N = 50;

afterAll(() => {
  console.log(`concurrency: ${tally.deliveries} deliveries, ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

type Run = Awaited<ReturnType<typeof deliver>>;

/** A delivery may resolve, or reject only as the contract allows: busy past its own time (delivered again). */
function expectAllowed(runs: Run[], status: string, version: number) {
  for (const run of runs) {
    if (run.error) expect(run.error.message).toMatch(/another delivery .* is publishing this upload/);
    else expect(run.summary?.[0]).toMatchObject({ status, version });
  }
}

describe(`${N} concurrent deliveries of one upload`, () => {
  it(`${N} deliveries, zip and manifest events mixed: exactly one version, all published`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);

    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) => deliver([i % 2 ? manifestEvent : zipEvent], { requestId: `c-${i}` })),
    );

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(creates(cloud)).toHaveLength(1);
    expectAllowed(runs, 'published', 1);
    expect(runs.filter((run) => run.error === undefined).length).toBe(N);
    await expectInvariants(cloud, before, { layers: [LAYER], runs });
  });

  it(`${N} deliveries while FC loses the create answer and fails a listing: still one version`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 503, afterHandling: true });
    cloud.fc.faults.inject({ match: fcAction('ListLayerVersions'), status: 500, nth: 3, times: 5 });
    injected.count += 2;

    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) => deliver([i % 3 ? zipEvent : manifestEvent], { requestId: `f-${i}` })),
    );

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(creates(cloud)).toHaveLength(1);
    expectAllowed(runs, 'published', 1);
    await expectInvariants(cloud, before, { layers: [LAYER], runs });
  });

  it(`${N} deliveries while OSS answers 503 to some reads and writes: still one version`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);
    cloud.oss.faults.inject({ match: (t) => t.method === 'HEAD', status: 503, nth: 7, times: 4 });
    cloud.oss.faults.inject({ match: (t) => t.method === 'GET' && t.key.startsWith('_audit/'), status: 503, nth: 5, times: 3 });
    cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key.endsWith('.result.json'), status: 500, nth: 4, times: 3 });
    injected.count += 3;

    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) => deliver([i % 2 ? manifestEvent : zipEvent], { requestId: `o-${i}` })),
    );

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    for (const run of runs) {
      if (run.error) expect(run.error.message).toMatch(/delivered again/);
      else expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    }
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
    await expectInvariants(cloud, before, { layers: [LAYER], runs });
  });

  it('one invocation whose batch repeats the zip and manifest events 10 times: one version', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver(Array.from({ length: 10 }, (_, i) => (i % 2 ? manifestEvent : zipEvent)));

    expect(run.summary?.map((entry) => entry.status)).toEqual(Array(10).fill('published'));
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });
});

describe('concurrent deliveries across uploads', () => {
  it(`the zip's ${N / 2} events race the manifest's upload and its ${N / 2} events: published once, no waiting left`, async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    const zipEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
    const before = await snapshot(cloud, [LAYER]);

    const zipRuns = Array.from({ length: N / 2 }, (_, i) => deliver([zipEvent], { requestId: `z-${i}` }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
    const manifestEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY);
    const manifestRuns = Array.from({ length: N / 2 }, (_, i) => deliver([manifestEvent], { requestId: `m-${i}` }));
    const runs = await Promise.all([...zipRuns, ...manifestRuns]);

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
    for (const run of runs) expect(['published', 'waiting']).toContain(run.summary?.[0]?.status);
    await expectInvariants(cloud, before, { layers: [LAYER], runs, uploadedByTest: [MANIFEST_KEY] });
  });

  it(`upload A, then B while A's ${N / 2} deliveries run, then B's ${N / 2}: the final result names B, at most one version each`, async () => {
    const { cloud } = env;
    const { zipEvent: eventA } = await seedPair(cloud, { zip: nodejsLayerZip('A') });
    const before = await snapshot(cloud, [LAYER]);

    const runsA = Array.from({ length: N / 2 }, (_, i) => deliver([eventA], { requestId: `a-${i}` }));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // B gets a later Last-Modified second
    const zipB = nodejsLayerZip('B');
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipB);
    const eventB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
    const runsB = Array.from({ length: N / 2 }, (_, i) => deliver([eventB], { requestId: `b-${i}` }));
    const runs = await Promise.all([...runsA, ...runsB]);

    const versions = cloud.fc.versions(LAYER);
    expect(versions.length).toBeLessThanOrEqual(2);
    expect(versions.at(-1)?.codeChecksum).toBe(independentCrc64(zipB));
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', source: { crc64: independentCrc64(zipB) } });
    for (const run of await Promise.all(runsB)) expect(run.summary?.[0]).toMatchObject({ status: 'published' });
    await expectInvariants(cloud, before, {
      layers: [LAYER],
      uploads: { [LAYER]: 2 },
      runs,
      latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
      uploadedByTest: [ZIP_KEY],
    });
  });

  it(`B replaces A while A's CreateLayerVersion is in flight (FC reads B): no version holds the wrong code, the result names B`, async () => {
    const { cloud } = env;
    const { zipEvent: eventA } = await seedPair(cloud, { zip: nodejsLayerZip('A') });
    const before = await snapshot(cloud, [LAYER]);
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), delayMs: 1_500 });
    injected.count += 1;

    const runsA = Array.from({ length: N / 2 }, (_, i) => deliver([eventA], { requestId: `a-${i}` }));
    // A's holder has listed versions and is now inside its delayed create; B lands a second later.
    while (!cloud.fc.requests.entries.some((request) => request.action === 'ListLayerVersions')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const zipB = nodejsLayerZip('B');
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipB);
    const eventB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
    const runsB = Array.from({ length: N / 2 }, (_, i) => deliver([eventB], { requestId: `b-${i}` }));
    const runs = await Promise.all([...runsA, ...runsB]);

    const versions = cloud.fc.versions(LAYER);
    expect(versions.map((version) => version.codeChecksum)).toEqual([independentCrc64(zipB)]);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', source: { crc64: independentCrc64(zipB) } });
    await expectInvariants(cloud, before, {
      layers: [LAYER],
      uploads: { [LAYER]: 2 },
      runs,
      latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
      uploadedByTest: [ZIP_KEY],
    });
  });
});
