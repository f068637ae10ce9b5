import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud, type TestCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import {
  LAYER,
  MANIFEST_KEY,
  RESULT_KEY,
  ZIP_KEY,
  type Arranged,
  type Delivery,
  arrange,
  creates,
  deliver,
  expectInvariants,
  expectPublished,
  fcAction,
  injected,
  snapshot,
} from './scenario';

/** At-least-once, concurrent delivery (docs/contract.md §7): many instances run the same event at once. */
const env = useMswCloud();
const N = 50;

afterAll(() => {
  console.log(
    `concurrency: ${tally.deliveries} deliveries, ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`,
  );
});

/** A delivery may resolve, or reject only as the contract allows: busy past its own time (delivered again). */
function expectAllowed(runs: Delivery[], status: string, version: number) {
  for (const run of runs) {
    if (run.error) expect(run.error.message).toMatch(/another delivery .* is publishing this upload/);
    else expect(run.summary?.[0]).toMatchObject({ status, version });
  }
}

/** `count` deliveries at once, each of one event, with request ids `<prefix>-<i>`. */
function deliverMany(count: number, prefix: string, eventOf: (i: number) => unknown): Array<Promise<Delivery>> {
  return Array.from({ length: count }, (_, i) => deliver([eventOf(i)], { requestId: `${prefix}-${i}` }));
}

/** Upload B replaces the zip, and B's event is delivered N/2 times at once. */
async function uploadB(cloud: TestCloud) {
  const zipB = nodejsLayerZip('B');
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipB);
  const eventB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
  return { zipB, eventB, runsB: deliverMany(N / 2, 'b', () => eventB) };
}

/** The final result names B (published from B's bytes), and the invariants of two uploads. */
async function expectBWins(cloud: TestCloud, check: Arranged['check'], runs: Delivery[], { zipB, eventB }: Awaited<ReturnType<typeof uploadB>>) {
  expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', source: { crc64: independentCrc64(zipB) } });
  await check(runs, {
    uploads: { [LAYER]: 2 },
    latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
    uploadedByTest: [ZIP_KEY],
  });
}

describe(`${N} concurrent deliveries of one upload`, () => {
  it(`${N} deliveries, zip and manifest events mixed: exactly one version, all published`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);

    const runs = await Promise.all(deliverMany(N, 'c', (i) => (i % 2 ? manifestEvent : zipEvent)));

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(creates(cloud)).toHaveLength(1);
    expectAllowed(runs, 'published', 1);
    expect(runs.filter((run) => run.error === undefined).length).toBe(N);
    await check(runs);
  });

  it(`${N} deliveries while FC loses the create answer and fails a listing: still one version`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 503, afterHandling: true });
    cloud.fc.faults.inject({ match: fcAction('ListLayerVersions'), status: 500, nth: 3, times: 5 });
    injected.count += 2;

    const runs = await Promise.all(deliverMany(N, 'f', (i) => (i % 3 ? zipEvent : manifestEvent)));

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(creates(cloud)).toHaveLength(1);
    expectAllowed(runs, 'published', 1);
    await check(runs);
  });

  it(`${N} deliveries while OSS answers 503 to some reads and writes: still one version`, async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);
    cloud.oss.faults.inject({ match: (t) => t.method === 'HEAD', status: 503, nth: 7, times: 4 });
    cloud.oss.faults.inject({ match: (t) => t.method === 'GET' && t.key.startsWith('_audit/'), status: 503, nth: 5, times: 3 });
    cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key.endsWith('.result.json'), status: 500, nth: 4, times: 3 });
    injected.count += 3;

    const runs = await Promise.all(deliverMany(N, 'o', (i) => (i % 2 ? manifestEvent : zipEvent)));

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    for (const run of runs) {
      if (run.error) expect(run.error.message).toMatch(/delivered again/);
      else expectPublished(run);
    }
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
    await check(runs);
  });

  it('one invocation whose batch repeats the zip and manifest events 10 times: one version', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);

    const run = await deliver(Array.from({ length: 10 }, (_, i) => (i % 2 ? manifestEvent : zipEvent)));

    expect(run.summary?.map((entry) => entry.status)).toEqual(Array(10).fill('published'));
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([run]);
  });
});

describe('concurrent deliveries across uploads', () => {
  it(`the zip's ${N / 2} events race the manifest's upload and its ${N / 2} events: published once, no waiting left`, async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    const zipEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
    const before = await snapshot(cloud, [LAYER]);

    const zipRuns = deliverMany(N / 2, 'z', () => zipEvent);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
    const manifestEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY);
    const manifestRuns = deliverMany(N / 2, 'm', () => manifestEvent);
    const runs = await Promise.all([...zipRuns, ...manifestRuns]);

    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
    for (const run of runs) expect(['published', 'waiting']).toContain(run.summary?.[0]?.status);
    await expectInvariants(cloud, before, { layers: [LAYER], runs, uploadedByTest: [MANIFEST_KEY] });
  });

  it(`upload A, then B while A's ${N / 2} deliveries run, then B's ${N / 2}: the final result names B, at most one version each`, async () => {
    const { cloud } = env;
    const { zipEvent: eventA, check } = await arrange(cloud, { zip: nodejsLayerZip('A') });

    const runsA = deliverMany(N / 2, 'a', () => eventA);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // B gets a later Last-Modified second
    const b = await uploadB(cloud);
    const runs = await Promise.all([...runsA, ...b.runsB]);

    const versions = cloud.fc.versions(LAYER);
    expect(versions.length).toBeLessThanOrEqual(2);
    expect(versions.at(-1)?.codeChecksum).toBe(independentCrc64(b.zipB));
    for (const run of await Promise.all(b.runsB)) expect(run.summary?.[0]).toMatchObject({ status: 'published' });
    await expectBWins(cloud, check, runs, b);
  });

  it(`B replaces A while A's CreateLayerVersion is in flight (FC reads B): no version holds the wrong code, the result names B`, async () => {
    const { cloud } = env;
    const { zipEvent: eventA, check } = await arrange(cloud, { zip: nodejsLayerZip('A') });
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), delayMs: 1_500 });
    injected.count += 1;

    const runsA = deliverMany(N / 2, 'a', () => eventA);
    // A's holder has listed versions and is now inside its delayed create; B lands a second later.
    while (!cloud.fc.requests.entries.some((request) => request.action === 'ListLayerVersions')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const b = await uploadB(cloud);
    const runs = await Promise.all([...runsA, ...b.runsB]);

    const versions = cloud.fc.versions(LAYER);
    expect(versions.map((version) => version.codeChecksum)).toEqual([independentCrc64(b.zipB)]);
    await expectBWins(cloud, check, runs, b);
  });
});
