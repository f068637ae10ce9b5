import { describe, expect, it } from 'vitest';
import { CreateLog, stateFrom, UploadLedger, type ClaimMarker, type ClaimRecord, type Markers, type UploadState } from '../../src/audit/ledger';
import type { ReadMarker } from '../../src/audit/marker';
import { createOssStore } from '../../src/oss/ali-oss-store';
import type { ObjectStore } from '../../src/oss/store';
import type { PublishResult } from '../../src/result/document';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';

/**
 * The arrows of docs/exactly-once.md's state diagram, one row each, walked over the OSS emulator
 * (in memory, reached through the ali-oss adapter): what each transition writes under the upload's
 * folder, and what the next delivery then reads.
 */
const env = useMswCloud();
const PREFIX = '_audit/';
const UPLOAD = 'u1';
const TTL_MS = 60_000;

function store(): ObjectStore {
  return createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 });
}

/** A delivery: its own ledger object, as each invocation has. */
const delivery = () => new UploadLedger(store(), PREFIX, UPLOAD);

function result(version: number, requestId = 'req-a'): PublishResult {
  return {
    status: 'published',
    layerName: 'left-pad',
    version,
    source: { bucket: TEST_BUCKET, key: 'layers/left-pad.zip' },
    event: { name: 'ObjectCreated:PutObject', key: 'layers/left-pad.zip' },
    requestId,
    startedAt: '2026-12-07T00:00:00.000Z',
    finishedAt: '2026-12-07T00:00:01.000Z',
  };
}

async function claimed(ledger: UploadLedger, requestId: string, afterGeneration = 0): Promise<ClaimRecord> {
  const outcome = await ledger.claim(requestId, new Date(), TTL_MS, afterGeneration);
  if (outcome.kind !== 'claimed') throw new Error(`expected a claim, got ${outcome.kind}`);
  return outcome.claim;
}

/** The upload's state as `ledger` (by default a new delivery's) derives it now. */
async function stateOf(ledger = delivery(), afterGeneration = 0): Promise<UploadState> {
  return ledger.stateOf(new Date(), afterGeneration);
}

async function put(key: string, body: string): Promise<void> {
  await env.cloud.oss.putObject(TEST_BUCKET, `${PREFIX}uploads/${UPLOAD}/${key}`, Buffer.from(body));
}

const arrows: Array<[string, () => Promise<void>]> = [
  [
    'START → CLAIMED (claim): claim-1 created',
    async () => {
      const ledger = delivery();
      expect(await stateOf(ledger)).toEqual({ name: 'START', nextAttempt: 1 });
      const claim = await claimed(ledger, 'req-a');
      expect(claim).toMatchObject({ attempt: 1, requestId: 'req-a', ttlMs: TTL_MS });
      expect(await stateOf(ledger)).toEqual({ name: 'CLAIMED', claim });
    },
  ],
  [
    'START → BUSY (claim): claim-1 live, not released',
    async () => {
      expect(await stateOf()).toMatchObject({ name: 'START' });
      await claimed(delivery(), 'req-a');
      expect(await stateOf()).toMatchObject({ name: 'BUSY', holder: { attempt: 1, requestId: 'req-a' } });
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy', holder: { attempt: 1, requestId: 'req-a' } });
    },
  ],
  [
    'CLAIMED → RELEASED (release) → CLAIMED (claim): the next attempt claims at once',
    async () => {
      const first = delivery();
      const claim = await claimed(first, 'req-a');
      expect(await stateOf(first)).toMatchObject({ name: 'CLAIMED' });
      await first.release(claim, 'failed');
      expect(await stateOf()).toEqual({ name: 'RELEASED', attempt: 1, nextAttempt: 2 });
      const next = delivery();
      expect(await claimed(next, 'req-b')).toMatchObject({ attempt: 2, requestId: 'req-b' });
      expect(await stateOf(next)).toMatchObject({ name: 'CLAIMED', claim: { attempt: 2 } });
    },
  ],
  [
    "BUSY → CLAIMED (claim): the holder's claim ran out, claim-(n+1)",
    async () => {
      const first = delivery();
      expect(await first.claim('req-a', new Date(), 0)).toMatchObject({ kind: 'claimed' });
      expect(await stateOf(first)).toMatchObject({ name: 'CLAIMED' });
      // A claim of no time is over once OSS's second has passed.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      // It died before recording an intent: nothing is in doubt, the upload starts again.
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 2 });
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'CLAIMED → INTENT (recordIntent): the newest version before the create, read back by the next attempt',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      expect(await stateOf(ledger)).toMatchObject({ name: 'CLAIMED' });
      await ledger.recordIntent(claim, 6);
      await ledger.recordIntent(claim, 3, 'cn-beijing');
      expect(await stateOf(ledger)).toEqual({ name: 'INTENT', claim, newestVersionBefore: 6 });
      expect([await delivery().intentOf(1), await delivery().earliestIntent(2), await delivery().intentOf(1, 'cn-beijing')]).toEqual([6, 6, 3]);
    },
  ],
  [
    'INTENT → SETTLED (settle): the outcome, then every later delivery is done',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      expect(await stateOf(ledger)).toMatchObject({ name: 'INTENT' });
      expect(await ledger.settle(result(7), 1)).toEqual({ generation: 1, result: result(7) });
      expect(await stateOf(ledger)).toEqual({ name: 'SETTLED', outcome: { generation: 1, result: result(7) } });
      await ledger.release(claim, 'settled');
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toEqual({ kind: 'done', outcome: { generation: 1, result: result(7) } });
    },
  ],
  [
    'SETTLED → SETTLED (settle): the first outcome stands',
    async () => {
      await delivery().settle(result(7, 'req-a'), 1);
      expect(await delivery().settle(result(8, 'req-b'), 1)).toEqual({ generation: 1, result: result(7, 'req-a') });
      expect(await stateOf()).toEqual({ name: 'SETTLED', outcome: { generation: 1, result: result(7, 'req-a') } });
    },
  ],
  [
    "SETTLED → START (claim after generation 1): the outcome's version is gone",
    async () => {
      const first = delivery();
      const claim = await claimed(first, 'req-a');
      await first.settle(result(7), 1);
      await first.release(claim, 'settled');
      expect(await stateOf()).toMatchObject({ name: 'SETTLED', outcome: { generation: 1 } });
      // Generation 1 found void: the upload starts again.
      expect(await stateOf(delivery(), 1)).toEqual({ name: 'START', nextAttempt: 2 });
      const again = delivery();
      expect(await claimed(again, 'req-b', 1)).toMatchObject({ attempt: 2 });
      await again.settle(result(9, 'req-b'), 2);
      expect(await delivery().outcome()).toEqual({ generation: 2, result: result(9, 'req-b') });
      expect(await stateOf(delivery(), 1)).toEqual({ name: 'SETTLED', outcome: { generation: 2, result: result(9, 'req-b') } });
    },
  ],
  [
    'INTENT → IN DOUBT (CreateLog.record): a recorded create holds the key until its attempt is released',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      expect(await stateOf(ledger)).toMatchObject({ name: 'INTENT' });
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1, requestId: 'req-a' });
      // While its claim lasts, another delivery waits for it.
      expect(await stateOf()).toMatchObject({ name: 'BUSY', holder: { attempt: 1 } });
      await ledger.release(claim, 'settled');
      expect(await creates.inDoubt(new Date())).toBeUndefined();
      expect(await stateOf()).toEqual({ name: 'RELEASED', attempt: 1, nextAttempt: 2 });
    },
  ],
  [
    'BUSY → CLAIMED (claim): the holder released, claim-(n+1): the waiting delivery claims at once',
    async () => {
      const first = delivery();
      const claim = await claimed(first, 'req-a');
      const waiting = delivery();
      expect(await waiting.claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy' });
      expect(await stateOf(waiting)).toMatchObject({ name: 'BUSY' });
      await first.release(claim, 'failed');
      expect(await stateOf(waiting)).toMatchObject({ name: 'RELEASED' });
      expect(await claimed(waiting, 'req-b')).toMatchObject({ attempt: 2, requestId: 'req-b' });
      expect(await stateOf(waiting)).toMatchObject({ name: 'CLAIMED', claim: { attempt: 2 } });
    },
  ],
  [
    "BUSY → SETTLED (intentOf): the waiting delivery reads the version the holder's create lands above",
    async () => {
      const holder = delivery();
      await holder.recordIntent(await claimed(holder, 'req-a'), 6);
      expect([await stateOf(holder), await stateOf()]).toMatchObject([
        { name: 'INTENT', newestVersionBefore: 6 },
        { name: 'BUSY', holder: { attempt: 1 } },
      ]);
      const busy = await delivery().claim('req-b', new Date(), TTL_MS);
      if (busy.kind !== 'busy') throw new Error(`expected busy, got ${busy.kind}`);
      expect(await delivery().intentOf(busy.holder.attempt)).toBe(6);
    },
  ],
  [
    'CLAIMED → wait (CreateLog.inDoubt): another upload of the key waits until that attempt is released',
    async () => {
      const older = delivery();
      const claim = await claimed(older, 'req-a');
      await older.recordIntent(claim, 6);
      await new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip').record(claim);
      const newer = new UploadLedger(store(), PREFIX, 'u2');
      expect(await claimed(newer, 'req-b')).toMatchObject({ uploadId: 'u2', attempt: 1 });
      // Its own upload is claimed; the other upload's create holds it up through the key's log.
      expect([await stateOf(newer), await stateOf(older)]).toMatchObject([{ name: 'CLAIMED' }, { name: 'INTENT' }]);
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1 });
      await older.release(claim, 'failed');
      expect(await creates.inDoubt(new Date())).toBeUndefined();
    },
  ],
  [
    'IN DOUBT → SETTLED (settle): a version above newestVersionBefore settles and releases',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      expect(await stateOf(ledger)).toMatchObject({ name: 'INTENT' });
      expect(await ledger.settle(result(7), 1)).toEqual({ generation: 1, result: result(7) });
      await ledger.release(claim, 'settled');
      expect([await creates.inDoubt(new Date()), await delivery().claim('req-b', new Date(), TTL_MS)]).toEqual([
        undefined,
        { kind: 'done', outcome: { generation: 1, result: result(7) } },
      ]);
    },
  ],
  [
    'IN DOUBT → claim kept (recordFailure): time runs out, failed Unavailable, the claim kept, so the next delivery is busy and the create still in doubt',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      expect(await stateOf(ledger)).toMatchObject({ name: 'INTENT' });
      await ledger.recordFailure('Unavailable#1', { ...result(1), status: 'failed', version: undefined });
      // Not released: until its claim runs out the upload is busy, and then in doubt (the table below).
      expect(await stateOf(ledger)).toMatchObject({ name: 'INTENT' });
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy', holder: { attempt: 1 } });
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1, remainingMs: expect.any(Number) });
    },
  ],
  [
    'CLAIMED → RELEASED (recordFailure, release): the failure recorded, the claim released, so the next delivery claims anew',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      const failed = { ...result(1), status: 'failed' as const, version: undefined };
      expect(await ledger.recordFailure('ZipInvalid', failed)).toEqual(failed);
      expect(await stateOf(ledger)).toMatchObject({ name: 'CLAIMED' });
      await ledger.release(claim, 'failed');
      expect(await stateOf(ledger)).toEqual({ name: 'RELEASED', attempt: 1, nextAttempt: 2 });
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'claimed', claim: { attempt: 2 } });
    },
  ],
  [
    "a claim whose PUT answer was lost is still the claimant's: the same process claims it back",
    async () => {
      const ledger = delivery();
      const first = await claimed(ledger, 'req-a');
      expect(await claimed(ledger, 'req-a')).toMatchObject({ attempt: 1, token: first.token });
      expect([await stateOf(ledger), await stateOf()]).toMatchObject([{ name: 'CLAIMED', claim: first }, { name: 'BUSY' }]);
    },
  ],
  [
    'a region SETTLED once: the first entry stands',
    async () => {
      await delivery().settleRegion('cn-beijing', { status: 'published', version: 2, codeChecksum: '1' });
      // Another region's markers are its own: the upload's state is the home folder's.
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 1 });
      expect(await delivery().settleRegion('cn-beijing', { status: 'published', version: 3, codeChecksum: '1' })).toEqual({
        status: 'published',
        version: 2,
        codeChecksum: '1',
      });
    },
  ],
  [
    "each object's uploader once, whichever event tells it",
    async () => {
      expect(await delivery().recordUploader('manifest', { principalId: 'ci' })).toBe('created');
      expect(await delivery().recordUploader('manifest', { principalId: 'other' })).toBe('exists');
      await delivery().recordUploader('zip', { principalId: 'alice' });
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 1 });
      expect(await delivery().uploaders()).toEqual({ zip: { principalId: 'alice' }, manifest: { principalId: 'ci' } });
    },
  ],
  [
    'one failure, one decision: the first failed result is repeated',
    async () => {
      const failed = { ...result(1), status: 'failed' as const, version: undefined };
      await delivery().recordFailure('ZipInvalid', failed);
      expect(await delivery().recordFailure('ZipInvalid', { ...failed, requestId: 'req-b' })).toEqual(failed);
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 1 });
    },
  ],
  [
    'a follow-up recorded once: its first record stands',
    async () => {
      const kept = { keep: 1, kept: [], deleted: [1], failed: [] };
      await delivery().settle(result(7), 1);
      await delivery().recordRetention({ home: kept, regions: {} });
      expect(await stateOf()).toMatchObject({ name: 'SETTLED', outcome: { generation: 1 } });
      expect(await delivery().recordRetention({ home: { ...kept, deleted: [] }, regions: {} })).toEqual({ home: kept, regions: {} });
    },
  ],
];

const unreadable: Array<[string, () => Promise<void>]> = [
  [
    'a claim that is not JSON holds nothing up: the next attempt claims',
    async () => {
      await put('claim-1.json', '{ not json');
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 2 });
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'a claim without a request id is not ours: the next attempt claims',
    async () => {
      await put('claim-1.json', JSON.stringify({ attempt: 1, ttlMs: TTL_MS }));
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 2 });
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'an outcome that is not a result leaves the upload undecided',
    async () => {
      await put('outcome.json', JSON.stringify({ status: 'published', version: 'seven' }));
      expect(await delivery().outcome()).toBeUndefined();
      expect(await stateOf()).toEqual({ name: 'START', nextAttempt: 1 });
    },
  ],
  [
    'an intent without a number names no version',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await put('intent-1.json', JSON.stringify({ newestVersionBefore: '6' }));
      expect(await delivery().intentOf(1)).toBeUndefined();
      expect(await stateOf(ledger)).toEqual({ name: 'CLAIMED', claim });
    },
  ],
  [
    'an uploader of the wrong shape adds nothing',
    async () => {
      await put('provenance-zip.json', JSON.stringify({ principalId: 42 }));
      expect(await delivery().uploaders()).toEqual({});
    },
  ],
];

describe('the ledger, arrow by arrow (docs/exactly-once.md, States)', () => {
  it.each(arrows)('%s', async (_arrow, walk) => walk(), 20_000);
});

describe('a marker that cannot be read counts as absent', () => {
  it.each(unreadable)('%s', async (_case, walk) => walk());
});

/** Markers as `UploadLedger.markers` reads them back; OSS answered at NOW_S, in whole seconds as it does. */
const NOW = new Date('2026-12-07T06:00:00.000Z');
const OWN = 'token-own';

/** A claim written `agoS` seconds before OSS's Date, holding for `ttlS`. */
function claimAt(attempt: number, agoS: number, ttlS: number, extra: Partial<ClaimMarker> = {}): ReadMarker<ClaimMarker> {
  const written = new Date(NOW.getTime() - agoS * 1_000);
  return {
    value: {
      uploadId: UPLOAD,
      attempt,
      requestId: `req-${attempt}`,
      claimedAt: written.toISOString(),
      expiresAt: new Date(written.getTime() + ttlS * 1_000).toISOString(),
      ttlMs: ttlS * 1_000,
      token: `token-${attempt}`,
      ...extra,
    },
    head: { etag: 'e', size: 1, lastModified: written.toUTCString(), crc64: undefined, answeredAt: NOW.toUTCString() },
  };
}

function markers(parts: {
  outcomes?: number[];
  claims?: Array<[number, ReadMarker<ClaimMarker> | undefined]>;
  released?: number[];
  intents?: Array<[number, number]>;
}): Markers {
  return {
    outcomes: (parts.outcomes ?? []).map((generation) => ({ generation, result: result(generation + 6) })),
    claims: new Map(parts.claims ?? []),
    released: new Set(parts.released ?? []),
    intents: new Map(parts.intents ?? []),
  };
}

const LIVE = 60;
const derivations: Array<[string, Markers, number, UploadState]> = [
  ['nothing written: START', markers({}), 0, { name: 'START', nextAttempt: 1 }],
  [
    'an outcome: SETTLED',
    markers({ outcomes: [1], claims: [[1, claimAt(1, 5, LIVE)]] }),
    0,
    { name: 'SETTLED', outcome: { generation: 1, result: result(7) } },
  ],
  ['the latest generation stands', markers({ outcomes: [1, 2] }), 1, { name: 'SETTLED', outcome: { generation: 2, result: result(8) } }],
  [
    'a void outcome, its claim released: START again',
    markers({ outcomes: [1], claims: [[1, undefined]], released: [1] }),
    1,
    { name: 'START', nextAttempt: 2 },
  ],
  [
    'a void outcome, a live claim: BUSY',
    markers({ outcomes: [1], claims: [[1, claimAt(1, 5, LIVE)]] }),
    1,
    { name: 'BUSY', holder: claimAt(1, 5, LIVE).value, remainingMs: (LIVE - 5 + 1) * 1_000 },
  ],
  [
    "another attempt's live claim: BUSY",
    markers({ claims: [[1, claimAt(1, 5, LIVE)]] }),
    0,
    { name: 'BUSY', holder: claimAt(1, 5, LIVE).value, remainingMs: 56_000 },
  ],
  [
    'a claim written before ttlMs, live: BUSY',
    markers({ claims: [[1, claimAt(1, 5, LIVE, { ttlMs: undefined })]] }),
    0,
    { name: 'BUSY', holder: claimAt(1, 5, LIVE, { ttlMs: undefined }).value, remainingMs: 56_000 },
  ],
  [
    'a claim with no readable time holds nothing up: START',
    markers({ claims: [[1, claimAt(1, 5, LIVE, { ttlMs: undefined, expiresAt: undefined })]] }),
    0,
    { name: 'START', nextAttempt: 2 },
  ],
  [
    "this process's claim: CLAIMED",
    markers({ claims: [[1, claimAt(1, 5, LIVE, { token: OWN })]] }),
    0,
    { name: 'CLAIMED', claim: claimAt(1, 5, LIVE, { token: OWN }).value as ClaimRecord },
  ],
  [
    "this process's claim and intent: INTENT",
    markers({ claims: [[1, claimAt(1, 5, LIVE, { token: OWN })]], intents: [[1, 6]] }),
    0,
    { name: 'INTENT', claim: claimAt(1, 5, LIVE, { token: OWN }).value as ClaimRecord, newestVersionBefore: 6 },
  ],
  [
    'an expired claim with an intent, not released: IN DOUBT',
    markers({ claims: [[1, claimAt(1, 120, LIVE)]], intents: [[1, 6]] }),
    0,
    { name: 'IN DOUBT', attempt: 1, newestVersionBefore: 6, nextAttempt: 2 },
  ],
  ['an expired claim with no intent: START (it made no version)', markers({ claims: [[1, claimAt(1, 120, LIVE)]] }), 0, { name: 'START', nextAttempt: 2 }],
  [
    'a released claim, no outcome: RELEASED',
    markers({ claims: [[1, undefined]], released: [1], intents: [[1, 6]] }),
    0,
    { name: 'RELEASED', attempt: 1, nextAttempt: 2 },
  ],
  [
    "this process's claim, released: RELEASED, not CLAIMED",
    markers({ claims: [[1, claimAt(1, 5, LIVE, { token: OWN })]], released: [1] }),
    0,
    { name: 'RELEASED', attempt: 1, nextAttempt: 2 },
  ],
  [
    'attempt 1 in doubt, attempt 2 live: BUSY with attempt 2',
    markers({
      claims: [
        [1, claimAt(1, 300, LIVE)],
        [2, claimAt(2, 5, LIVE)],
      ],
      intents: [[1, 6]],
    }),
    0,
    { name: 'BUSY', holder: claimAt(2, 5, LIVE).value, remainingMs: 56_000 },
  ],
  [
    'attempt 1 in doubt, attempt 2 released: RELEASED (the create log still holds attempt 1)',
    markers({
      claims: [
        [1, claimAt(1, 300, LIVE)],
        [2, undefined],
      ],
      released: [2],
      intents: [[1, 6]],
    }),
    0,
    { name: 'RELEASED', attempt: 2, nextAttempt: 3 },
  ],
  ['an unreadable claim counts as absent, its number stays taken: START at 2', markers({ claims: [[1, undefined]] }), 0, { name: 'START', nextAttempt: 2 }],
  [
    'a missing attempt is claimed first',
    markers({
      claims: [
        [1, undefined],
        [3, undefined],
      ],
      released: [1, 3],
    }),
    0,
    { name: 'RELEASED', attempt: 3, nextAttempt: 2 },
  ],
];

describe('the state derived from the markers (docs/exactly-once.md, States)', () => {
  it.each(derivations)('%s', (_case, read, afterGeneration, expected) => {
    expect(stateFrom(read, NOW, afterGeneration, new Set([OWN]))).toEqual(expected);
  });

  it('reaches every state of the diagram', () => {
    const reached = new Set(derivations.map(([, read, afterGeneration]) => stateFrom(read, NOW, afterGeneration, new Set([OWN])).name));
    expect([...reached].sort()).toEqual(['BUSY', 'CLAIMED', 'IN DOUBT', 'INTENT', 'RELEASED', 'SETTLED', 'START']);
  });
});
