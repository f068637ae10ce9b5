import { afterAll, describe, expect, it } from 'vitest';
import { UploadLedger } from '../../src/audit/ledger';
import { createOssStore } from '../../src/oss/ali-oss-store';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud, type TestCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { LAYER, RESULT_KEY, type Delivery, arrange, deliver, expectInvariants, injected, ledgerPrefix, snapshot } from './scenario';

/**
 * FC slower than the caller waits, instances whose clocks are wrong,
 * and events longer than the function's time (docs/contract.md §7).
 */
const env = useMswCloud();

afterAll(() => {
  console.log(`timing: ${tally.deliveries} deliveries, ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CreateLayerVersion calls that reached FC, counted as they arrive (the request log records them only once answered). */
function countCreates(cloud: TestCloud, delayMs?: number) {
  const seen = { count: 0 };
  cloud.fc.faults.inject({
    match: (target) => target.action === 'CreateLayerVersion' && (seen.count += 1) > 0,
    times: Infinity,
    ...(delayMs === undefined ? {} : { delayMs }),
  });
  injected.count += 1;
  return seen;
}

/** Delivers `event` again and again (each a new invocation) until one resolves; every run kept. */
async function deliverUntilResolved(runs: Delivery[], event: unknown, timeoutSeconds: number, tries = 10): Promise<Delivery> {
  for (let i = 0; i < tries; i++) {
    const run = await deliver([event], { timeoutSeconds, requestId: `again-${runs.length}` });
    runs.push(run);
    if (run.error === undefined) return run;
  }
  throw new Error(`no delivery resolved in ${tries} tries: ${runs.at(-1)?.error}`);
}

/** The claim marker of attempt `n` of the seeded pair. */
async function claimMarker(cloud: TestCloud, n: number) {
  return readJson<{ ttlMs: number }>(cloud, `${await ledgerPrefix(cloud)}claim-${n}.json`);
}

describe('case 1: a CreateLayerVersion slower than the caller waits makes no second version', () => {
  it.each([
    [3, 3_500],
    [6, 7_000],
  ])(
    'a %i s function against a create of %i ms: the timed-out attempt keeps its claim; a later delivery adopts the version',
    async (seconds, createMs) => {
      const { cloud } = env;
      const { zipEvent, check } = await arrange(cloud);
      const created = countCreates(cloud, createMs);

      const first = await deliver([zipEvent], { timeoutSeconds: seconds, requestId: 'timed-out' });

      expect(first.error?.message).toMatch(/CreateLayerVersion .*no answer/);
      expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
      // It did not conclude "nothing there": no second create, and its claim is not released.
      expect(created.count).toBe(1);
      expect(await cloud.oss.statObject(TEST_BUCKET, `${await ledgerPrefix(cloud)}released-1.json`)).toBeUndefined();

      const runs = [first];
      const last = await deliverUntilResolved(runs, zipEvent, seconds);

      expect(last.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
      expect(created.count).toBe(1);
      expect(cloud.fc.versions(LAYER)).toHaveLength(1);
      expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
      await check(runs);
    },
    90_000,
  );

  it('deliveries arriving while the slow create is still in flight wait or reject; none creates', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);
    const created = countCreates(cloud, 4_000);

    const first = deliver([zipEvent], { timeoutSeconds: 3, requestId: 'slow' });
    await sleep(1_500);
    const during = await Promise.all([1, 2, 3].map((i) => deliver([i % 2 ? manifestEvent : zipEvent], { timeoutSeconds: 3, requestId: `during-${i}` })));
    const runs = [await first, ...during];
    await deliverUntilResolved(runs, manifestEvent, 3);

    expect(created.count).toBe(1);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check(runs);
  }, 90_000);
});

describe("case 5: the ledger keeps OSS's time, not the instance's", () => {
  it.each([
    ['5 s behind', -5_000],
    ['10 min behind', -600_000],
    ['5 s ahead', 5_000],
    ['10 min ahead', 600_000],
  ])(
    'an instance %s races a correct one (3 s function): one version',
    async (_name, skewMs) => {
      const { cloud } = env;
      const { zipEvent, check } = await arrange(cloud);
      const created = countCreates(cloud, 1_000);
      const prefix = await ledgerPrefix(cloud);

      const skewed = deliver([zipEvent], { timeoutSeconds: 3, requestId: 'skewed', now: () => new Date(Date.now() + skewMs) });
      while ((await cloud.oss.statObject(TEST_BUCKET, `${prefix}claim-1.json`)) === undefined) await sleep(20);
      const correct = deliver([zipEvent], { timeoutSeconds: 3, requestId: 'correct' });
      const runs = await Promise.all([skewed, correct]);
      await deliverUntilResolved(runs, zipEvent, 3);

      expect(created.count).toBe(1);
      expect(cloud.fc.versions(LAYER)).toHaveLength(1);
      await check(runs);
    },
    60_000,
  );

  it('an instance 10 min ahead that died after claiming holds the upload up no longer than its 3 s function timeout', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    const prefix = await ledgerPrefix(cloud);
    // Exactly what that instance wrote before dying: its claim, by its clock, for its 3 s.
    const store = createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 });
    const ahead = new Date(Date.now() + 600_000);
    const claimed = await new UploadLedger(store, '_audit/', prefix.split('/')[2]!).claim('ahead-and-dead', ahead, 3_000);
    expect(claimed.kind).toBe('claimed');
    const diedAt = Date.now();

    const runs: Delivery[] = [];
    const last = await deliverUntilResolved(runs, zipEvent, 3);

    expect(last.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    // 3 s of claim, plus the second of Last-Modified's granularity, plus one delivery's time.
    expect(Date.now() - diedAt).toBeLessThan(3_000 + 1_000 + 3_000);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check(runs);
  }, 60_000);
});

/** `count` zip records whose zips do not exist (their manifests neither): each ends `waiting`. */
async function missingZipRecords(cloud: TestCloud, count: number) {
  const { zipEvent } = await arrange(cloud);
  return Array.from({ length: count }, (_, i) => ({
    ...zipEvent,
    oss: { ...zipEvent.oss, object: { ...zipEvent.oss.object, key: `layers/missing-${i}.zip` } },
  }));
}

describe("case 6: the function's timeout bounds the whole invocation", () => {
  it.each([
    ['a number', { timeout: 3 }],
    ['a string', { timeout: '3' }],
  ])(
    '10 records for missing zips in a 3 s function (timeout as %s): over within 3 s, the rest not started, rejects',
    async (_name, fn) => {
      const { cloud } = env;
      const records = await missingZipRecords(cloud, 10);
      // 100 ms a request: ten records of several requests each cannot all fit in 3 s.
      cloud.oss.faults.inject({ delayMs: 100, times: Infinity });
      injected.count += 1;
      const started = Date.now();

      const run = await deliver(records, { fn });

      expect(Date.now() - started).toBeLessThan(3_000);
      const notStarted = run.error?.message.match(/not started: \d+ ms of the invocation left/g) ?? [];
      expect(notStarted.length).toBeGreaterThan(0);
      const waiting = (await cloud.oss.listKeys(TEST_BUCKET, 'layers/missing-')).filter((key) => key.endsWith('.result.json'));
      expect(waiting.length).toBeGreaterThan(0);
      // Every record ends with a result written or named in the rejection.
      expect(waiting.length + notStarted.length).toBeGreaterThanOrEqual(10);
    },
    30_000,
  );

  it('5 pairs at 150 ms per request in a 5 s function: over within 5 s, rejects; the redelivery finishes the rest, one version each', async () => {
    const { cloud } = env;
    const layers = Array.from({ length: 5 }, (_, i) => `slow-${i}`);
    const events = [];
    for (const layer of layers) {
      await cloud.oss.putObject(TEST_BUCKET, `layers/${layer}.zip`, nodejsLayerZip(layer));
      await cloud.oss.putObject(TEST_BUCKET, `layers/${layer}.layer.json`, manifestBytes({ ...NODE_MANIFEST, layerName: layer }));
      events.push(await cloud.oss.objectCreatedEvent(TEST_BUCKET, `layers/${layer}.zip`));
    }
    const before = await snapshot(cloud, layers);
    cloud.oss.faults.inject({ delayMs: 150, times: Infinity });
    cloud.fc.faults.inject({ delayMs: 150, times: Infinity });
    injected.count += 2;
    const started = Date.now();

    const first = await deliver(events, { timeoutSeconds: 5, requestId: 'slow' });

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(first.error?.message).toMatch(/not started/);
    cloud.oss.faults.clear();
    cloud.fc.faults.clear();
    const second = await deliver(events, { timeoutSeconds: 60, requestId: 'again' });

    expect(second.error).toBeUndefined();
    for (const layer of layers) expect(cloud.fc.versions(layer)).toHaveLength(1);
    expect(second.summary?.map((entry) => entry.status)).toEqual(Array(5).fill('published'));
    await expectInvariants(cloud, before, { layers, runs: [first, second], uploads: Object.fromEntries(layers.map((layer) => [layer, 1])) });
  }, 90_000);

  it.each([
    ['missing', {}, 60_000],
    ['a string', { timeout: '3' }, 3_000],
    ['not a number', { timeout: 'soon' }, 60_000],
  ])('context.function.timeout %s still bounds the claim', async (_name, fn, boundMs) => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);

    const run = await deliver([zipEvent], { fn });

    expect(run.summary?.[0]).toMatchObject({ status: 'published' });
    const claim = await claimMarker(cloud, 1);
    expect(claim?.ttlMs).toBeGreaterThan(0);
    expect(claim?.ttlMs).toBeLessThanOrEqual(boundMs);
    await check([run]);
  });
});
