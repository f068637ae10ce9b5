import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { expectNoSecrets } from '../publish/helpers';
import { TEST_BUCKET, TEST_CREDENTIALS, useMswCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { nodejsLayerZip } from '../support/layers';
import {
  LAYER,
  MANIFEST_KEY,
  RESULT_KEY,
  ZIP_KEY,
  arrange,
  creates,
  deliver,
  deliverUnder,
  expectInvariants,
  expectPublished,
  fcAction,
  injected,
  ledgerPrefix,
  oss,
  seedPair,
  snapshot,
} from './scenario';

/**
 * Services that echo credentials back in their error messages (docs/contract.md §8: never a secret in a log
 * line, result, audit record, or the rejection Function Compute prints), and uploads across time (§7).
 */
const env = useMswCloud();

afterAll(() => {
  console.log(`secrets and time: ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

const ECHO = `the security token ${TEST_CREDENTIALS.securityToken} signed with ${TEST_CREDENTIALS.accessKeySecret} is not valid`;

describe('error messages that echo the credentials', () => {
  it('FC 403 quoting the token and secret: failed FcRejected, nothing written or logged holds them', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () =>
      cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 403, code: 'InvalidSecurityToken', message: ECHO }),
    );

    expect(run.summary?.[0]).toMatchObject({ status: 'failed', error: { code: 'FcRejected' } });
    expect((await readJson<PublishResult>(cloud, RESULT_KEY))?.error?.message).toMatch(/InvalidSecurityToken/);
    expectNoSecrets([JSON.stringify(run.summary)]);
    await check([run]);
  });

  /** FC answering 503 with the echo on every create. */
  const fcEchoes = () =>
    env.cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 503, code: 'ServiceUnavailable', message: ECHO, times: Infinity });

  it('FC 503 quoting them on every try: nothing written or logged holds them', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, fcEchoes, { deliver: { timeoutSeconds: 20 } });

    expect(run.error).toBeDefined();
    await check([run]);
  });

  it('FC 503 quoting them on every try: the rejection message holds no secret', async () => {
    const { cloud } = env;
    const { run } = await deliverUnder(cloud, fcEchoes, { deliver: { timeoutSeconds: 20 } });

    expect(run.error).toBeDefined();
    expectNoSecrets([run.error!.message, String(run.error!.stack)]);
  });

  it('OSS 503 quoting them on every zip GET: nothing written or logged holds them', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => cloud.oss.faults.inject({ match: oss('GET', ZIP_KEY), status: 503, code: 'ServiceUnavailable', message: ECHO, times: Infinity }),
      { deliver: { timeoutSeconds: 20 } },
    );

    expect(run.error).toBeDefined();
    await check([run]);
    expectNoSecrets([run.error!.message, String(run.error!.stack)]);
  });
});

describe('uploads across time (docs/contract.md §7: an object version is its ETag and Last-Modified)', () => {
  it('A, then B, then A again: three uploads, three versions, each result names its upload', async () => {
    const { cloud } = env;
    const before = await snapshot(cloud, [LAYER]);
    const runs = [];
    for (const seed of ['A', 'B', 'A']) {
      if (runs.length > 0) await new Promise((resolve) => setTimeout(resolve, 1_100));
      const { zipEvent } = await seedPair(cloud, { zip: nodejsLayerZip(seed) });
      const run = await deliver([zipEvent]);
      expect(run.summary?.[0]).toMatchObject({ status: 'published', version: runs.length + 1 });
      expect((await readJson<PublishResult>(cloud, RESULT_KEY))?.source.etag).toBe(zipEvent.oss.object.eTag);
      runs.push(run);
    }
    expect(cloud.fc.versions(LAYER)).toHaveLength(3);
    await expectInvariants(cloud, before, { layers: [LAYER], runs, uploads: { [LAYER]: 3 }, uploadedByTest: [ZIP_KEY, MANIFEST_KEY] });
  });

  it('a claim marker with no expiresAt (not written by an attempt) does not hold the upload up forever', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud, {
      prepare: async () => {
        const prefix = await ledgerPrefix(cloud);
        const id = prefix.split('/')[2]!;
        await cloud.oss.putObject(TEST_BUCKET, `${prefix}claim-1.json`, Buffer.from(JSON.stringify({ uploadId: id, attempt: 1, requestId: 'odd' })));
      },
    });

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error).toBeUndefined();
    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    await check([run]);
  });
});
