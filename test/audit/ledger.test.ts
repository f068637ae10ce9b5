import { describe, expect, it } from 'vitest';
import { CreateLog, UploadLedger, type ClaimRecord } from '../../src/audit/ledger';
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

async function put(key: string, body: string): Promise<void> {
  await env.cloud.oss.putObject(TEST_BUCKET, `${PREFIX}uploads/${UPLOAD}/${key}`, Buffer.from(body));
}

const arrows: Array<[string, () => Promise<void>]> = [
  [
    'START → CLAIMED: claim-1 created',
    async () => {
      expect(await claimed(delivery(), 'req-a')).toMatchObject({ attempt: 1, requestId: 'req-a', ttlMs: TTL_MS });
    },
  ],
  [
    'START → BUSY: claim-1 live, not released',
    async () => {
      await claimed(delivery(), 'req-a');
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy', holder: { attempt: 1, requestId: 'req-a' } });
    },
  ],
  [
    'CLAIMED → RELEASED → CLAIMED: the next attempt claims at once',
    async () => {
      const first = delivery();
      await first.release(await claimed(first, 'req-a'), 'failed');
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2, requestId: 'req-b' });
    },
  ],
  [
    'BUSY → claim expired → claim-(n+1)',
    async () => {
      const first = delivery();
      expect(await first.claim('req-a', new Date(), 0)).toMatchObject({ kind: 'claimed' });
      // A claim of no time is over once OSS's second has passed.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'CLAIMED → INTENT: the newest version before the create, read back by the next attempt',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      await ledger.recordIntent(claim, 3, 'cn-beijing');
      expect([await delivery().intentOf(1), await delivery().earliestIntent(2), await delivery().intentOf(1, 'cn-beijing')]).toEqual([6, 6, 3]);
    },
  ],
  [
    'INTENT → SETTLED: the outcome, then every later delivery is done',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      expect(await ledger.settle(result(7), 1)).toEqual({ generation: 1, result: result(7) });
      await ledger.release(claim, 'settled');
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toEqual({ kind: 'done', outcome: { generation: 1, result: result(7) } });
    },
  ],
  [
    'SETTLED twice: the first outcome stands',
    async () => {
      await delivery().settle(result(7, 'req-a'), 1);
      expect(await delivery().settle(result(8, 'req-b'), 1)).toEqual({ generation: 1, result: result(7, 'req-a') });
    },
  ],
  [
    "SETTLED → START, generation + 1: the outcome's version is gone",
    async () => {
      const first = delivery();
      const claim = await claimed(first, 'req-a');
      await first.settle(result(7), 1);
      await first.release(claim, 'settled');
      const again = delivery();
      expect(await claimed(again, 'req-b', 1)).toMatchObject({ attempt: 2 });
      await again.settle(result(9, 'req-b'), 2);
      expect(await delivery().outcome()).toEqual({ generation: 2, result: result(9, 'req-b') });
    },
  ],
  [
    'INTENT → IN DOUBT: a recorded create holds the key until its attempt is released',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1, requestId: 'req-a' });
      await ledger.release(claim, 'settled');
      expect(await creates.inDoubt(new Date())).toBeUndefined();
    },
  ],
  [
    'BUSY → claim released → claim-(n+1): the waiting delivery claims at once',
    async () => {
      const first = delivery();
      const claim = await claimed(first, 'req-a');
      const waiting = delivery();
      expect(await waiting.claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy' });
      await first.release(claim, 'failed');
      expect(await claimed(waiting, 'req-b')).toMatchObject({ attempt: 2, requestId: 'req-b' });
    },
  ],
  [
    "BUSY → holder's intent: the waiting delivery reads the version the holder's create lands above",
    async () => {
      const holder = delivery();
      await holder.recordIntent(await claimed(holder, 'req-a'), 6);
      const busy = await delivery().claim('req-b', new Date(), TTL_MS);
      if (busy.kind !== 'busy') throw new Error(`expected busy, got ${busy.kind}`);
      expect(await delivery().intentOf(busy.holder.attempt)).toBe(6);
    },
  ],
  [
    'CLAIMED → earlier intent in doubt: another upload of the key waits until that attempt is released',
    async () => {
      const older = delivery();
      const claim = await claimed(older, 'req-a');
      await older.recordIntent(claim, 6);
      await new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip').record(claim);
      const newer = new UploadLedger(store(), PREFIX, 'u2');
      expect(await claimed(newer, 'req-b')).toMatchObject({ uploadId: 'u2', attempt: 1 });
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1 });
      await older.release(claim, 'failed');
      expect(await creates.inDoubt(new Date())).toBeUndefined();
    },
  ],
  [
    'IN DOUBT → poll → SETTLED: a version above newestVersionBefore settles and releases',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      expect(await ledger.settle(result(7), 1)).toEqual({ generation: 1, result: result(7) });
      await ledger.release(claim, 'settled');
      expect([await creates.inDoubt(new Date()), await delivery().claim('req-b', new Date(), TTL_MS)]).toEqual([
        undefined,
        { kind: 'done', outcome: { generation: 1, result: result(7) } },
      ]);
    },
  ],
  [
    'IN DOUBT → time runs out: failed Unavailable, the claim kept, so the next delivery is busy and the create still in doubt',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      await ledger.recordIntent(claim, 6);
      const creates = new CreateLog(store(), PREFIX, TEST_BUCKET, 'layers/left-pad.zip');
      await creates.record(claim);
      await ledger.recordFailure('Unavailable#1', { ...result(1), status: 'failed', version: undefined });
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'busy', holder: { attempt: 1 } });
      expect(await creates.inDoubt(new Date())).toMatchObject({ uploadId: UPLOAD, attempt: 1, remainingMs: expect.any(Number) });
    },
  ],
  [
    'RELEASED → failed: the failure recorded, the claim released, so the next delivery claims anew',
    async () => {
      const ledger = delivery();
      const claim = await claimed(ledger, 'req-a');
      const failed = { ...result(1), status: 'failed' as const, version: undefined };
      expect(await ledger.recordFailure('ZipInvalid', failed)).toEqual(failed);
      await ledger.release(claim, 'failed');
      expect(await delivery().claim('req-b', new Date(), TTL_MS)).toMatchObject({ kind: 'claimed', claim: { attempt: 2 } });
    },
  ],
  [
    "a claim whose PUT answer was lost is still the claimant's: the same process claims it back",
    async () => {
      const ledger = delivery();
      const first = await claimed(ledger, 'req-a');
      expect(await claimed(ledger, 'req-a')).toMatchObject({ attempt: 1, token: first.token });
    },
  ],
  [
    'a region SETTLED once: the first entry stands',
    async () => {
      await delivery().settleRegion('cn-beijing', { status: 'published', version: 2, codeChecksum: '1' });
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
      expect(await delivery().uploaders()).toEqual({ zip: { principalId: 'alice' }, manifest: { principalId: 'ci' } });
    },
  ],
  [
    'one failure, one decision: the first failed result is repeated',
    async () => {
      const failed = { ...result(1), status: 'failed' as const, version: undefined };
      await delivery().recordFailure('ZipInvalid', failed);
      expect(await delivery().recordFailure('ZipInvalid', { ...failed, requestId: 'req-b' })).toEqual(failed);
    },
  ],
  [
    'a follow-up recorded once: its first record stands',
    async () => {
      const kept = { keep: 1, kept: [], deleted: [1], failed: [] };
      await delivery().recordRetention({ home: kept, regions: {} });
      expect(await delivery().recordRetention({ home: { ...kept, deleted: [] }, regions: {} })).toEqual({ home: kept, regions: {} });
    },
  ],
];

const unreadable: Array<[string, () => Promise<void>]> = [
  [
    'a claim that is not JSON holds nothing up: the next attempt claims',
    async () => {
      await put('claim-1.json', '{ not json');
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'a claim without a request id is not ours: the next attempt claims',
    async () => {
      await put('claim-1.json', JSON.stringify({ attempt: 1, ttlMs: TTL_MS }));
      expect(await claimed(delivery(), 'req-b')).toMatchObject({ attempt: 2 });
    },
  ],
  [
    'an outcome that is not a result leaves the upload undecided',
    async () => {
      await put('outcome.json', JSON.stringify({ status: 'published', version: 'seven' }));
      expect(await delivery().outcome()).toBeUndefined();
    },
  ],
  [
    'an intent without a number names no version',
    async () => {
      await put('intent-1.json', JSON.stringify({ newestVersionBefore: '6' }));
      expect(await delivery().intentOf(1)).toBeUndefined();
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
