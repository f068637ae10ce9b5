import { randomBytes } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { readJson, tally } from '../support/invariants';
import { makeZip, nodejsLayerZip } from '../support/layers';
import {
  LAYER,
  MANIFEST_KEY,
  RESULT_KEY,
  ZIP_KEY,
  arrange,
  creates,
  deliver,
  deliverUnder,
  expectFailedRetryable,
  expectPublished,
  injected,
  oss,
  ossUnder,
} from './scenario';

/** OSS misbehaving (docs/contract.md §7): 5xx, resets, cut bodies, 412, results that cannot be written. */
const env = useMswCloud();

afterAll(() => {
  console.log(`oss faults: ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

/** A zip big enough that a cut lands mid-body: random bytes do not compress. */
function bigZip(): Buffer {
  return makeZip({ 'nodejs/node_modules/blob/index.js': 'module.exports = 1', 'nodejs/node_modules/blob/data.bin': randomBytes(300_000) });
}

const STEPS: Array<[string, 'HEAD' | 'GET' | 'PUT', string]> = [
  ['HEAD of the zip', 'HEAD', ZIP_KEY],
  ['GET of the manifest', 'GET', MANIFEST_KEY],
  ['GET of the zip', 'GET', ZIP_KEY],
  ['PUT of the result', 'PUT', RESULT_KEY],
];

describe(`OSS 500 and 503 once on each of ${STEPS.length} steps: retried, published once`, () => {
  describe.each([500, 503])('%i', (status) => {
    it.each(STEPS)('on the %s', async (_step, method, key) => {
      const { cloud } = env;
      const { run, check } = await deliverUnder(cloud, () =>
        cloud.oss.faults.inject({ match: oss(method, key), status, code: status === 503 ? 'ServiceUnavailable' : 'InternalError' }),
      );

      expect(run.error).toBeUndefined();
      expectPublished(run);
      expect(cloud.oss.requests.entries.filter((request) => request.method === method && request.key === key && request.status === status)).toHaveLength(1);
      expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
      await check([run]);
    });
  });
});

describe('OSS faults that outlast the retries: the handler rejects', () => {
  it.each(STEPS)('503 on every %s', async (_step, method, key) => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => cloud.oss.faults.inject({ match: oss(method, key), status: 503, code: 'ServiceUnavailable', times: Infinity }),
      { deliver: { timeoutSeconds: 20 } },
    );

    expect(run.error?.message).toMatch(/delivered again/);
    expect(cloud.fc.versions(LAYER).length).toBeLessThanOrEqual(1);
    await check([run]);
  });

  it('the result cannot be written: rejects; the redelivery writes the same version, no second one', async () => {
    const { cloud } = env;
    const {
      zipEvent,
      run: first,
      check,
    } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: oss('PUT', RESULT_KEY), status: 500, times: Infinity }), {
      deliver: { timeoutSeconds: 20, requestId: 'first' },
    });
    expect(first.error).toBeDefined();
    expect(await readJson(cloud, RESULT_KEY)).toBeUndefined();
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);

    cloud.oss.faults.clear();
    const second = await deliver([zipEvent], { requestId: 'second' });

    expectPublished(second);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: 1 });
    expect(creates(cloud)).toHaveLength(1);
    await check([first, second]);
  });

  it('audit writes failing on every try: rejects, and never publishes twice on redelivery', async () => {
    const { cloud } = env;
    const {
      zipEvent,
      run: first,
      check,
    } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: ossUnder('PUT', '_audit/records/'), status: 503, times: Infinity }), {
      deliver: { timeoutSeconds: 20, requestId: 'first' },
    });
    expect(first.error).toBeDefined();
    cloud.oss.faults.clear();
    const second = await deliver([zipEvent], { requestId: 'second' });

    expectPublished(second);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([first, second]);
  });
});

describe('resets and cut bodies', () => {
  it('a reset on the HEAD of the zip: retried, published', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => env.server.use(http.head(/left-pad\.zip/, () => HttpResponse.error(), { once: true })));

    expectPublished(run);
    await check([run]);
  });

  it('the zip GET cut mid-body once: published with the right CRC', async () => {
    const { cloud } = env;
    const zip = bigZip();
    const { run, check } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: oss('GET', ZIP_KEY), cutBodyAfterBytes: 100_000 }), { zip });

    expectPublished(run);
    expect((await readJson<PublishResult>(cloud, RESULT_KEY))?.source.crc64).toBe(independentCrc64(zip));
    await check([run]);
  });

  it('the zip GET cut mid-body resumes with Range and If-Match from the last byte hashed', async () => {
    const { cloud } = env;
    const { zipEvent, run, check } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: oss('GET', ZIP_KEY), cutBodyAfterBytes: 100_000 }), {
      zip: bigZip(),
    });

    expect(run.summary?.[0]).toMatchObject({ status: 'published' });
    const gets = cloud.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === ZIP_KEY);
    const resumed = gets[1];
    expect(resumed?.headers['if-match']?.replace(/"/g, '')).toBe(zipEvent.oss.object.eTag);
    const start = Number(/^bytes=(\d+)-/.exec(resumed?.headers.range ?? '')?.[1] ?? 0);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(100_000);
    await check([run]);
  });

  it('the zip GET cut on every try: failed, retryable, rejects, no version', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => cloud.oss.faults.inject({ match: oss('GET', ZIP_KEY), cutBodyAfterBytes: 50_000, times: Infinity }),
      { zip: bigZip(), deliver: { timeoutSeconds: 20 } },
    );

    await expectFailedRetryable(cloud, run);
    await check([run]);
  });

  it('a reset on the manifest GET once: retried, published', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => env.server.use(http.get(/left-pad\.layer\.json/, () => HttpResponse.error(), { once: true })), {
      event: 'manifest',
    });

    expectPublished(run);
    await check([run]);
  });
});

describe('the zip replaced while it is read (412)', () => {
  it('an injected 412 on the zip GET: stale, no result, nothing published', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: oss('GET', ZIP_KEY), status: 412, code: 'PreconditionFailed' }));

    expect(run.error).toBeUndefined();
    expect(run.summary).toEqual([{ key: ZIP_KEY, status: 'stale' }]);
    expect(await readJson(cloud, RESULT_KEY)).toBeUndefined();
    expect(creates(cloud)).toHaveLength(0);
    await check([run]);
  });

  it('upload A replaced by B between HEAD and GET: A is stale; B publishes and its result names B', async () => {
    const { cloud } = env;
    const { zipEvent: eventA, check } = await arrange(cloud, { zip: nodejsLayerZip('A') });
    let replaced = false;
    env.server.use(
      http.get(/left-pad\.zip/, async ({ request }) => {
        if (!replaced) {
          replaced = true;
          await new Promise((resolve) => setTimeout(resolve, 1100)); // a new Last-Modified second
          await env.cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip('B'));
        }
        return env.cloud.oss.handle(request);
      }),
    );
    injected.count += 1;

    const runA = await deliver([eventA], { requestId: 'A' });
    expect(runA.summary).toEqual([{ key: ZIP_KEY, status: 'stale' }]);
    expect(await readJson(cloud, RESULT_KEY)).toBeUndefined();

    const eventB = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY);
    const runB = await deliver([eventB], { requestId: 'B' });
    // A's event delivered again after B: still stale, B's result stays.
    const runA2 = await deliver([eventA], { requestId: 'A-again' });

    expectPublished(runB);
    expect(runA2.summary).toEqual([{ key: ZIP_KEY, status: 'stale' }]);
    expect(cloud.fc.versions(LAYER)[0]?.codeChecksum).toBe(independentCrc64(nodejsLayerZip('B')));
    await check([runA, runB, runA2], {
      latest: [{ resultKey: RESULT_KEY, etag: eventB.oss.object.eTag }],
      uploadedByTest: [ZIP_KEY],
    });
  });
});

describe('OSS answers that lie for a moment', () => {
  it('the zip reads as missing just after its event (404 once): looked for again, published, not waiting', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => cloud.oss.faults.inject({ match: oss('HEAD', ZIP_KEY), status: 404, code: 'NoSuchKey' }));

    expectPublished(run);
    await check([run]);
  });

  it('the claim PUT is written but its answer lost (503 after handling): the delivery still publishes', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && /\/claim-1\.json$/.test(t.key), status: 503, afterHandling: true }),
      { deliver: { timeoutSeconds: 10 } },
    );

    expect(run.error).toBeUndefined();
    expectPublished(run);
    await check([run]);
  });

  it('the outcome PUT is written but its answer lost: published once, the stored outcome stands', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () =>
      cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key.endsWith('/outcome.json'), status: 503, afterHandling: true }),
    );

    expectPublished(run);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([run]);
  });
});
