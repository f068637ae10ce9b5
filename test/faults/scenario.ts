import { expect } from 'vitest';
import type { FcRequestTarget, OssRequestTarget } from '../../src/emulator';
import { invoke } from '../publish/helpers';
import { TEST_BUCKET, type TestCloud } from '../support/cloud';
import { uploadIdOf } from '../../src/audit/ledger';
import type { PublishResult } from '../../src/publish/result';
import { type CloudSnapshot, type DeliveryOutcome, type InvariantOptions, expectInvariants, readJson, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';

export const LAYER = NODE_MANIFEST.layerName;
export const BASE = 'layers/left-pad';
export const ZIP_KEY = `${BASE}.zip`;
export const MANIFEST_KEY = `${BASE}.layer.json`;
export const RESULT_KEY = `${BASE}.result.json`;

/** Counts faults armed across a file, for the closing report. */
export const injected = { count: 0 };
/** Counts dead attempts simulated across a file, for the closing report. */
export const deaths = { count: 0 };

export async function seedPair(cloud: TestCloud, options: { zip?: Buffer; manifest?: unknown } = {}) {
  const zip = options.zip ?? nodejsLayerZip();
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zip);
  await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(options.manifest ?? NODE_MANIFEST));
  return {
    zip,
    zipEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY),
    manifestEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY),
  };
}

/** The ledger folder (`_audit/uploads/<uploadIdOf(...)>/`) of the seeded pair as it stands in OSS. */
export async function ledgerPrefix(cloud: TestCloud): Promise<string> {
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

export const fcAction = (action: FcRequestTarget['action']) => (target: FcRequestTarget) => target.action === action;
export const oss = (method: string, key: string) => (target: OssRequestTarget) => target.method === method && target.key === key;
export const ossUnder = (method: string, prefix: string) => (target: OssRequestTarget) => target.method === method && target.key.startsWith(prefix);

export function creates(cloud: TestCloud) {
  return cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
}

/** Delivers the events (one invocation each), keeping each outcome for the invariants. */
export async function deliver(events: unknown[], options: Parameters<typeof invoke>[1] = {}): Promise<DeliveryOutcome & Awaited<ReturnType<typeof invoke>>> {
  const run = await invoke(events, options);
  const keys = events.map((event) => (event as { oss: { object: { key: string } } }).oss.object.key);
  return { ...run, keys };
}

export type Delivery = Awaited<ReturnType<typeof deliver>>;

export interface Arranged extends Awaited<ReturnType<typeof seedPair>> {
  before: CloudSnapshot;
  /** The invariants over LAYER against the snapshot taken when the scenario was arranged. */
  check(runs: readonly DeliveryOutcome[], more?: Omit<InvariantOptions, 'layers' | 'runs'>): ReturnType<typeof expectInvariants>;
}

/**
 * Seeds the pair, lets `prepare` leave whatever else the scenario starts from (a dead attempt's
 * ledger, older versions), then takes the snapshot the invariants compare against.
 */
export async function arrange(
  cloud: TestCloud,
  options: { zip?: Buffer; manifest?: unknown; prepare?: (seeded: Awaited<ReturnType<typeof seedPair>>) => unknown } = {},
): Promise<Arranged> {
  const seeded = await seedPair(cloud, options);
  await options.prepare?.(seeded);
  const before = await snapshot(cloud, [LAYER]);
  return {
    ...seeded,
    before,
    check: (runs, more = {}) => expectInvariants(cloud, before, { layers: [LAYER], runs, ...more }),
  };
}

/**
 * One scenario of one fault: seeds the pair, takes the snapshot, arms the fault(s) (`arm` says how
 * many, default 1, for the closing report), then delivers the zip's event (or the manifest's) once.
 */
export async function deliverUnder(
  cloud: TestCloud,
  arm: () => unknown,
  options: { faults?: number; event?: 'zip' | 'manifest'; zip?: Buffer; deliver?: Parameters<typeof invoke>[1] } = {},
): Promise<Arranged & { run: Delivery }> {
  const arranged = await arrange(cloud, { zip: options.zip });
  arm();
  injected.count += options.faults ?? 1;
  const run = await deliver([options.event === 'manifest' ? arranged.manifestEvent : arranged.zipEvent], options.deliver);
  return { ...arranged, run };
}

/** The delivery's (first) record published as `version`. */
export function expectPublished(run: Delivery, version = 1) {
  expect(run.summary?.[0]).toMatchObject({ status: 'published', version });
}

/** The delivery rejected, its result says failed and retryable (Unavailable), and no version was made. */
export async function expectFailedRetryable(cloud: TestCloud, run: Delivery) {
  expect(run.error).toBeDefined();
  expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
  expect(cloud.fc.versions(LAYER)).toHaveLength(0);
}

export { expectInvariants, snapshot, type CloudSnapshot };

/**
 * A process that died at each step (docs/contract.md §7), simulated by leaving exactly the state a dead
 * attempt leaves in OSS and FC (crash-recovery.test.ts, test/fc/publish-paths.test.ts).
 */
export interface DeadAttempt {
  attempt?: number;
  /** When the dead attempt's claim expires, from now (negative: already expired). */
  expiresInMs: number;
  /** It got as far as recording its intent: the newest version before it created. */
  intent?: number;
}

/** Writes what a dead attempt leaves: its claim, and its intent if it got that far. */
export async function leaveDeadAttempt(cloud: TestCloud, dead: DeadAttempt): Promise<string> {
  const prefix = await ledgerPrefix(cloud);
  const uploadId = prefix.split('/')[2]!;
  const attempt = dead.attempt ?? 1;
  const now = Date.now();
  const claim = {
    uploadId,
    attempt,
    requestId: `dead-${attempt}`,
    claimedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + dead.expiresInMs).toISOString(),
    // Written now (its Last-Modified, OSS's clock): it holds for this long from then.
    ttlMs: dead.expiresInMs,
    token: `token-${attempt}`,
  };
  await cloud.oss.putObject(TEST_BUCKET, `${prefix}claim-${attempt}.json`, Buffer.from(JSON.stringify(claim)));
  if (dead.intent !== undefined) {
    const intent = { uploadId, attempt, requestId: `dead-${attempt}`, newestVersionBefore: dead.intent };
    await cloud.oss.putObject(TEST_BUCKET, `${prefix}intent-${attempt}.json`, Buffer.from(JSON.stringify(intent)));
  }
  deaths.count += 1;
  return prefix;
}

/** The version a dead attempt made with CreateLayerVersion before it could write anything else. */
export function versionMadeByTheDead(cloud: TestCloud, zip: Buffer) {
  return cloud.fc.seedVersion(LAYER, { code: zip, description: NODE_MANIFEST.description, compatibleRuntime: NODE_MANIFEST.compatibleRuntime });
}

/** The pair seeded, the dead attempts left in order, then the snapshot; with the last one's ledger prefix. */
export async function diedHolding(cloud: TestCloud, ...dead: DeadAttempt[]) {
  let prefix = '';
  const arranged = await arrange(cloud, {
    prepare: async () => {
      for (const attempt of dead) prefix = await leaveDeadAttempt(cloud, attempt);
    },
  });
  return { ...arranged, prefix };
}

/**
 * The pair seeded (with an older version of the layer already there, if `older`), then a dead attempt
 * that made its version before it could write anything else, `later` versions by other uploads since,
 * then the snapshot.
 */
export async function diedAfterCreating(cloud: TestCloud, dead: DeadAttempt, { older = false, later = 0 } = {}) {
  let made!: ReturnType<typeof versionMadeByTheDead>;
  const arranged = await arrange(cloud, {
    prepare: async ({ zip }) => {
      if (older) cloud.fc.seedVersion(LAYER, { code: nodejsLayerZip('older'), ...NODE_MANIFEST });
      await leaveDeadAttempt(cloud, dead);
      made = versionMadeByTheDead(cloud, zip);
      for (let i = 0; i < later; i++) cloud.fc.seedVersion(LAYER, { code: nodejsLayerZip(`other-${i}`), ...NODE_MANIFEST });
    },
  });
  return { ...arranged, made };
}
