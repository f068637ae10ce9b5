import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import {
  LAYER,
  MANIFEST_KEY,
  RESULT_KEY,
  ZIP_KEY,
  arrange,
  creates,
  deaths,
  deliver,
  diedAfterCreating,
  diedHolding,
  expectInvariants,
  expectPublished,
  ledgerPrefix,
  leaveDeadAttempt,
  snapshot,
  versionMadeByTheDead,
} from './scenario';

/**
 * A process that died at each step (docs/contract.md §7), simulated by leaving exactly the state a dead
 * attempt leaves in OSS and FC, then delivering the event again to a fresh handler.
 */
const env = useMswCloud();

afterAll(() => {
  console.log(`crash recovery: ${deaths.count} deaths simulated, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

describe('the ledger key a test computes is the one the publisher uses', () => {
  it('a normal publish writes its claim and outcome under uploads/<uploadIdOf(...)>/', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud);
    const run = await deliver([zipEvent]);
    const prefix = await ledgerPrefix(cloud);
    const keys = await cloud.oss.listKeys(TEST_BUCKET, prefix);
    expect(keys).toEqual(expect.arrayContaining([`${prefix}claim-1.json`, `${prefix}intent-1.json`, `${prefix}outcome.json`]));
    await check([run]);
  });
});

describe("died before CreateLayerVersion: held up no longer than the dead attempt's timeout", () => {
  it('after claiming (or mid-read), claim expired: the next delivery publishes once', async () => {
    const { cloud } = env;
    const { zipEvent, prefix, check } = await diedHolding(cloud, { expiresInMs: -1_000 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    expect(await cloud.oss.listKeys(TEST_BUCKET, prefix)).toContain(`${prefix}claim-2.json`);
    await check([run]);
  });

  it('after claiming, claim expiring in 2 s: the delivery waits it out, then publishes once', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await diedHolding(cloud, { expiresInMs: 2_000 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.error).toBeUndefined();
    expectPublished(run);
    await check([run]);
  });

  it('after claiming, claim live past this invocation: rejects (delivered again later), publishes nothing', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await diedHolding(cloud, { expiresInMs: 600_000 });

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error?.message).toMatch(/another delivery/);
    expect(cloud.fc.versions(LAYER)).toHaveLength(0);
    expect(creates(cloud)).toHaveLength(0);
    await check([run]);
  });

  it('after recording its intent, before creating: the next delivery publishes once', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await diedHolding(cloud, { expiresInMs: -1_000, intent: 0 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    await check([run]);
  });

  it('two dead attempts in a row (claims 1 and 2 expired): the third publishes once', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await diedHolding(cloud, { attempt: 1, expiresInMs: -60_000 }, { attempt: 2, expiresInMs: -1_000, intent: 0 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expectPublished(run);
    await check([run]);
  });
});

describe('died after CreateLayerVersion, before the result: the version is adopted, not made again', () => {
  it('claim expired: adopted, no create', async () => {
    const { cloud } = env;
    const { zipEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: -1_000, intent: 0 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expectPublished(run, made.version);
    expect(creates(cloud)).toHaveLength(0);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: made.version, arn: made.arn });
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('claim still live: adopted at once, without waiting for the claim to expire', async () => {
    const { cloud } = env;
    const { zipEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: 600_000, intent: 0 });

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error).toBeUndefined();
    expectPublished(run, made.version);
    expect(creates(cloud)).toHaveLength(0);
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('the manifest event arrives instead of the zip event: adopted too', async () => {
    const { cloud } = env;
    const { manifestEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: 600_000, intent: 0 });

    const run = await deliver([manifestEvent], { timeoutSeconds: 5 });

    expectPublished(run, made.version);
    expect(creates(cloud)).toHaveLength(0);
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('the layer had older versions: the one newer than the intent is adopted', async () => {
    const { cloud } = env;
    const { zipEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: -1_000, intent: 1 }, { older: true });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expectPublished(run, 2);
    expect(made.version).toBe(2);
    expect(creates(cloud)).toHaveLength(0);
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it("other uploads made 25 versions of the layer since the death: the dead attempt's version is still adopted", async () => {
    const { cloud } = env;
    const { zipEvent, made, check } = await diedAfterCreating(cloud, { expiresInMs: -1_000, intent: 0 }, { later: 25 });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(creates(cloud)).toHaveLength(0);
    expectPublished(run, made.version);
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('a version with this code that predates the intent is not adopted: unchanged, not published', async () => {
    const { cloud } = env;
    let old!: ReturnType<typeof versionMadeByTheDead>;
    const { zipEvent, check } = await arrange(cloud, {
      prepare: async ({ zip }) => {
        old = versionMadeByTheDead(cloud, zip);
        await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: old.version });
      },
    });

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'unchanged', version: old.version });
    expect(creates(cloud)).toHaveLength(0);
    await check([run], { uploads: { [LAYER]: 0 } });
  });

  it('the zip has no OSS CRC (a copied object), claim still live: adopted at once all the same', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zip, { withoutCrc: true });
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.from(JSON.stringify(NODE_MANIFEST)));
    const zipEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY, 'ObjectCreated:CopyObject');
    await leaveDeadAttempt(cloud, { expiresInMs: 600_000, intent: 0 });
    const made = versionMadeByTheDead(cloud, zip);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error).toBeUndefined();
    expectPublished(run, made.version);
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });
});

describe('died after deciding, before the result', () => {
  it('outcome recorded, result missing: the redelivery writes the recorded outcome, nothing new', async () => {
    const { cloud } = env;
    const { zipEvent, check } = await arrange(cloud, {
      prepare: async (seeded) => {
        // A first delivery that got as far as the outcome: its result write never landed.
        cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key === RESULT_KEY, status: 500, times: Infinity });
        const first = await deliver([seeded.zipEvent], { timeoutSeconds: 10, requestId: 'died' });
        expect(first.error).toBeDefined();
        cloud.oss.faults.clear();
        deaths.count += 1;
      },
    });

    const run = await deliver([zipEvent], { requestId: 'again' });

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    await check([run], { uploads: { [LAYER]: 0 } });
  });
});
