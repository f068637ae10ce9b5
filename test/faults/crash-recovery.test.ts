import { afterAll, describe, expect, it } from 'vitest';
import { uploadIdOf } from '../../src/audit/ledger';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, useMswCloud, type TestCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { LAYER, MANIFEST_KEY, RESULT_KEY, ZIP_KEY, creates, deliver, expectInvariants, seedPair, snapshot } from './scenario';

/**
 * A process that died at each step (CONTRACT §7), simulated by leaving exactly the state a dead
 * attempt leaves in OSS and FC, then delivering the event again to a fresh handler.
 */
const env = useMswCloud();
let deaths = 0;

afterAll(() => {
  console.log(`crash recovery: ${deaths} deaths simulated, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

async function ledgerPrefix(cloud: TestCloud): Promise<string> {
  const headOf = async (key: string) => {
    const meta = (await cloud.oss.statObject(TEST_BUCKET, key))!;
    return { etag: meta.etag.replace(/^"|"$/g, ''), lastModified: meta.lastModified.toUTCString() };
  };
  const id = uploadIdOf({
    bucket: TEST_BUCKET,
    zipKey: ZIP_KEY,
    zip: await headOf(ZIP_KEY),
    manifestKey: MANIFEST_KEY,
    manifest: await headOf(MANIFEST_KEY),
  });
  return `_audit/uploads/${id}/`;
}

interface DeadAttempt {
  attempt?: number;
  /** When the dead attempt's claim expires, from now (negative: already expired). */
  expiresInMs: number;
  /** It got as far as recording its intent: the newest version before it created. */
  intent?: number;
}

/** Writes what a dead attempt leaves: its claim, and its intent if it got that far. */
async function leaveDeadAttempt(cloud: TestCloud, dead: DeadAttempt): Promise<string> {
  const prefix = await ledgerPrefix(cloud);
  const uploadId = prefix.split('/')[2]!;
  const attempt = dead.attempt ?? 1;
  const now = Date.now();
  const claim = {
    uploadId,
    attempt,
    requestId: `dead-${attempt}`,
    claimedAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + dead.expiresInMs).toISOString(),
    token: `token-${attempt}`,
  };
  await cloud.oss.putObject(TEST_BUCKET, `${prefix}claim-${attempt}.json`, Buffer.from(JSON.stringify(claim)));
  if (dead.intent !== undefined) {
    const intent = { uploadId, attempt, requestId: `dead-${attempt}`, newestVersionBefore: dead.intent };
    await cloud.oss.putObject(TEST_BUCKET, `${prefix}intent-${attempt}.json`, Buffer.from(JSON.stringify(intent)));
  }
  deaths += 1;
  return prefix;
}

/** The version a dead attempt made with CreateLayerVersion before it could write anything else. */
function versionMadeByTheDead(cloud: TestCloud, zip: Buffer) {
  return cloud.fc.seedVersion(LAYER, { code: zip, description: NODE_MANIFEST.description, compatibleRuntime: NODE_MANIFEST.compatibleRuntime });
}

describe('the ledger key a test computes is the one the publisher uses', () => {
  it('a normal publish writes its claim and outcome under uploads/<uploadIdOf(...)>/', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const before = await snapshot(cloud, [LAYER]);
    const run = await deliver([zipEvent]);
    const prefix = await ledgerPrefix(cloud);
    const keys = await cloud.oss.listKeys(TEST_BUCKET, prefix);
    expect(keys).toEqual(expect.arrayContaining([`${prefix}claim-1.json`, `${prefix}intent-1.json`, `${prefix}outcome.json`]));
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });
});

describe('died before CreateLayerVersion: held up no longer than the dead attempt\'s timeout', () => {
  it('after claiming (or mid-read), claim expired: the next delivery publishes once', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const prefix = await leaveDeadAttempt(cloud, { expiresInMs: -1_000 });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(creates(cloud)).toHaveLength(1);
    expect(await cloud.oss.listKeys(TEST_BUCKET, prefix)).toContain(`${prefix}claim-2.json`);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });

  it('after claiming, claim expiring in 2 s: the delivery waits it out, then publishes once', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: 2_000 });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.error).toBeUndefined();
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });

  it('after claiming, claim live past this invocation: rejects (delivered again later), publishes nothing', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: 600_000 });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error?.message).toMatch(/another delivery/);
    expect(cloud.fc.versions(LAYER)).toHaveLength(0);
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });

  it('after recording its intent, before creating: the next delivery publishes once', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: 0 });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(creates(cloud)).toHaveLength(1);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });

  it('two dead attempts in a row (claims 1 and 2 expired): the third publishes once', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { attempt: 1, expiresInMs: -60_000 });
    await leaveDeadAttempt(cloud, { attempt: 2, expiresInMs: -1_000, intent: 0 });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run] });
  });
});

describe('died after CreateLayerVersion, before the result: the version is adopted, not made again', () => {
  it('claim expired: adopted, no create', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: 0 });
    const made = versionMadeByTheDead(cloud, zip);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: made.version });
    expect(creates(cloud)).toHaveLength(0);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'published', version: made.version, arn: made.arn });
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });

  it('claim still live: adopted at once, without waiting for the claim to expire', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: 600_000, intent: 0 });
    const made = versionMadeByTheDead(cloud, zip);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 5 });

    expect(run.error).toBeUndefined();
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: made.version });
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });

  it('the manifest event arrives instead of the zip event: adopted too', async () => {
    const { cloud } = env;
    const { zip, manifestEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: 600_000, intent: 0 });
    const made = versionMadeByTheDead(cloud, zip);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([manifestEvent], { timeoutSeconds: 5 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: made.version });
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });

  it('the layer had older versions: the one newer than the intent is adopted', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);
    cloud.fc.seedVersion(LAYER, { code: nodejsLayerZip('older'), ...NODE_MANIFEST });
    await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: 1 });
    const made = versionMadeByTheDead(cloud, zip);
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 2 });
    expect(made.version).toBe(2);
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });

  it('other uploads made 25 versions of the layer since the death: the dead attempt\'s version is still adopted', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);
    await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: 0 });
    const made = versionMadeByTheDead(cloud, zip);
    for (let i = 0; i < 25; i++) cloud.fc.seedVersion(LAYER, { code: nodejsLayerZip(`other-${i}`), ...NODE_MANIFEST });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(creates(cloud)).toHaveLength(0);
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: made.version });
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });

  it('a version with this code that predates the intent is not adopted: unchanged, not published', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);
    const old = versionMadeByTheDead(cloud, zip);
    await leaveDeadAttempt(cloud, { expiresInMs: -1_000, intent: old.version });
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { timeoutSeconds: 10 });

    expect(run.summary?.[0]).toMatchObject({ status: 'unchanged', version: old.version });
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
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
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: made.version });
    expect(creates(cloud)).toHaveLength(0);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });
});

describe('died after deciding, before the result', () => {
  it('outcome recorded, result missing: the redelivery writes the recorded outcome, nothing new', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    // A first delivery that got as far as the outcome: its result write never landed.
    cloud.oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key === RESULT_KEY, status: 500, times: Infinity });
    const first = await deliver([zipEvent], { timeoutSeconds: 10, requestId: 'died' });
    expect(first.error).toBeDefined();
    cloud.oss.faults.clear();
    deaths += 1;
    const before = await snapshot(cloud, [LAYER]);

    const run = await deliver([zipEvent], { requestId: 'again' });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(creates(cloud)).toHaveLength(1);
    await expectInvariants(cloud, before, { layers: [LAYER], runs: [run], uploads: { [LAYER]: 0 } });
  });
});
