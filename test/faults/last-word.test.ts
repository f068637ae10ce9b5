import { afterAll, describe, expect, it } from 'vitest';
import { createFcLayers } from '../../src/fc/layer-api';
import type { PublishResult } from '../../src/publish/result';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud, type TestCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { readJson, tally } from '../support/invariants';
import { nodejsLayerZip } from '../support/layers';
import { LAYER, RESULT_KEY, ZIP_KEY, arrange, deliver, expectFailedRetryable, fcAction, injected, ledgerPrefix, oss } from './scenario';

/**
 * Which result has the last word, and that it names a version
 * that exists (docs/contract.md §6, §7).
 */
const env = useMswCloud();

afterAll(() => {
  console.log(
    `last word: ${tally.deliveries} deliveries, ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`,
  );
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextSecond = () => sleep(1_100);

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Upload B: a new zip at the same key (the manifest stays), and its event. */
async function uploadB(cloud: TestCloud) {
  await nextSecond();
  const zipB = nodejsLayerZip('B');
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipB);
  return { zipB, eventB: await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY) };
}

/** The version the result names exists, holding the code the result names. */
function expectResultVersionExists(cloud: TestCloud, result: PublishResult | undefined) {
  const named = cloud.fc.versions(LAYER).find((version) => version.version === result?.version);
  expect(named, `version ${result?.version} named by the result`).toBeDefined();
  expect(named?.codeChecksum).toBe(result?.source.crc64);
}

describe('case 2: a result never names a version that no longer exists', () => {
  it("A's create builds from B's bytes, and B's event runs before A deletes it: B never names that version, and ends published on one that exists", async () => {
    const { cloud } = env;
    const { zipEvent: eventA, check } = await arrange(cloud, { zip: nodejsLayerZip('A') });
    cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), delayMs: 1_500, times: 1 });
    cloud.fc.faults.inject({ match: fcAction('DeleteLayerVersion'), delayMs: 2_000, times: 1 });
    injected.count += 2;

    const runA = deliver([eventA], { requestId: 'a' });
    await waitFor('A listing versions', () => cloud.fc.requests.entries.some((request) => request.action === 'ListLayerVersions'));
    const { zipB, eventB } = await uploadB(cloud);
    // FC builds A's version from B's bytes; B's event runs while A's delete is on its way.
    await waitFor("the version from B's bytes", () => cloud.fc.versions(LAYER).length === 1);
    // B does not decide on version 1 while A's create is unresolved (the key's create log), and
    // would find it gone if it had (the outcome's version is checked).
    const runB = await deliver([eventB], { requestId: 'b' });
    expect(runB.summary?.[0]).toMatchObject({ status: 'published' });
    expect(runB.summary?.[0]?.version).not.toBe(1);
    const doneA = await runA;
    const again = await deliver([eventB], { requestId: 'b-again' });

    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result).toMatchObject({ status: 'published', source: { crc64: independentCrc64(zipB) } });
    expectResultVersionExists(cloud, result);
    expect(again.summary?.[0]).toMatchObject({ status: 'published', version: result?.version });
    expect(cloud.fc.versions(LAYER).map((version) => version.codeChecksum)).toEqual([independentCrc64(zipB)]);
    await check([doneA, runB, again], {
      uploads: { [LAYER]: 2 },
      latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
      uploadedByTest: [ZIP_KEY],
    });
  }, 30_000);

  it('outcome.json names a version deleted since: the next delivery publishes again instead of repeating it', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    const first = await deliver([zipEvent], { requestId: 'first' });
    expect(first.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    // An operator deletes version 1 through the API.
    const fc = createFcLayers({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      endpoint: undefined,
      apiVersion: '2021-04-06',
      credentials: TEST_CREDENTIALS,
      timeoutMs: 5_000,
    });
    await fc.delete(LAYER, 1);

    const second = await deliver([zipEvent], { requestId: 'second' });
    const third = await deliver([zipEvent], { requestId: 'third' });

    expect(second.summary?.[0]).toMatchObject({ status: 'published', version: 2 });
    expect(third.summary?.[0]).toMatchObject({ status: 'published', version: 2 });
    expectResultVersionExists(cloud, await readJson<PublishResult>(cloud, RESULT_KEY));
    expect(await cloud.oss.statObject(TEST_BUCKET, `${await ledgerPrefix(cloud)}outcome-2.json`)).toBeDefined();
    // One upload, one live version: the deleted one does not count against it.
    await check([first, second, third], { uploads: { [LAYER]: 2 } });
  });
});

describe('case 3: a stale result never has the last word, also when its PUT is retried or slow', () => {
  it.each([
    ['slow (2 s)', { delayMs: 2_000 }],
    ['answered 503 after a delay, then retried', { delayMs: 1_500, status: 503 }],
    ['written, then answered 503 (retried)', { delayMs: 1_500, status: 503, afterHandling: true }],
  ])(
    "A's result PUT is %s while B publishes: the final result names B",
    async (_name, fault) => {
      const { cloud } = env;
      const { zipEvent: eventA, check } = await arrange(cloud, { zip: nodejsLayerZip('A') });
      let putsOfResult = 0;
      cloud.oss.faults.inject({ match: (target) => oss('PUT', RESULT_KEY)(target) && ++putsOfResult === 1, ...fault });
      injected.count += 1;

      const runA = deliver([eventA], { requestId: 'a' });
      await waitFor("A's result PUT", () => putsOfResult === 1);
      const { zipB, eventB } = await uploadB(cloud);
      const runB = await deliver([eventB], { requestId: 'b' });
      const doneA = await runA;

      expect(runB.summary?.[0]).toMatchObject({ status: 'published', version: 2 });
      expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 2, source: { crc64: independentCrc64(zipB) } });
      await check([doneA, runB], { uploads: { [LAYER]: 2 }, latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }], uploadedByTest: [ZIP_KEY] });
    },
    30_000,
  );
});

describe('case 4: a malformed replay never overwrites a result', () => {
  type Mutation = (record: Record<string, unknown> & { oss: { object: Record<string, unknown> } }) => void;
  const MUTATIONS: Array<[string, Mutation]> = [
    ['no eTag', (record) => delete record.oss.object.eTag],
    ['size as a string', (record) => (record.oss.object.size = String(record.oss.object.size))],
    ['no eventName', (record) => delete record.eventName],
  ];

  it.each(MUTATIONS)('a replayed record with %s after publishing: failed EventInvalid in the summary, the published result stays', async (_name, mutate) => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    const published = await deliver([zipEvent], { requestId: 'good' });
    const before = await cloud.oss.readObject(TEST_BUCKET, RESULT_KEY);
    const broken = structuredClone(zipEvent) as unknown as Parameters<Mutation>[0];
    mutate(broken);

    const replay = await deliver([broken], { requestId: 'replay' });

    expect(replay.summary?.[0]).toMatchObject({ status: 'failed', error: { code: 'EventInvalid', retryable: false } });
    expect(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, RESULT_KEY))!).equals(Buffer.from(before!))).toBe(true);
    await check([published, replay]);
  });

  it('a malformed record where no result is yet: the failure is written', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    const broken = structuredClone(zipEvent) as unknown as Parameters<Mutation>[0];
    delete broken.oss.object.eTag;

    const run = await deliver([broken]);

    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'failed', error: { code: 'EventInvalid' } });
    await check([run]);
  });
});

describe('case 7: keys with `.` or `..` segments are refused, naming the key and the reason', () => {
  it.each(['layers/../x.zip', 'layers/./x.zip', 'layers/../x.layer.json'])('%s: rejects without a request, the message says why', async (key) => {
    const { cloud } = env;
    const { zipEvent } = await arrange(cloud);
    const record = { ...zipEvent, oss: { ...zipEvent.oss, object: { ...zipEvent.oss.object, key } } };
    const requestsBefore = cloud.oss.requests.entries.length;

    const run = await deliver([record]);

    expect(run.error?.message).toContain(key);
    expect(run.error?.message).toMatch(/"\.{1,2}" segment, which HTTP clients resolve before sending/);
    expect(cloud.oss.requests.entries.length).toBe(requestsBefore);
    expect(cloud.fc.requests.entries).toHaveLength(0);
  });
});

describe('case 8: a zip OSS answers 503 for, for good, still gets its retryable failure', () => {
  it('every HEAD and GET of the zip 503: result failed Unavailable (retryable), the handler rejects', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    cloud.oss.faults.inject({
      match: (target) => target.key === ZIP_KEY && (target.method === 'HEAD' || target.method === 'GET'),
      status: 503,
      times: Infinity,
    });
    injected.count += 1;

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    await expectFailedRetryable(cloud, run);
    await check([run]);
  });

  it('the same while the result names another upload: that result is not overwritten, the handler rejects', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent, check } = await arrange(cloud);
    const first = await deliver([zipEvent], { requestId: 'first' });
    const { eventB } = await uploadB(cloud);
    const newer = await deliver([eventB], { requestId: 'newer' });
    const before = await cloud.oss.readObject(TEST_BUCKET, RESULT_KEY);
    cloud.oss.faults.inject({
      match: (target) => target.key === ZIP_KEY && (target.method === 'HEAD' || target.method === 'GET'),
      status: 503,
      times: Infinity,
    });
    injected.count += 1;

    // The manifest's event of the first upload, delivered late: it cannot tell which zip is there.
    const late = await deliver([manifestEvent], { timeoutSeconds: 5 });

    expect(late.error).toBeDefined();
    expect(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, RESULT_KEY))!).equals(Buffer.from(before!))).toBe(true);
    await check([first, newer, late], { uploads: { [LAYER]: 2 }, uploadedByTest: [ZIP_KEY] });
  });
});
