import { describe, expect, it } from 'vitest';
import { UploadLedger } from '../../src/audit/ledger';
import { Crc64 } from '../../src/checksum/crc64';
import { CodeChecksumMismatchError, InvalidInputError, TransientError } from '../../src/errors';
import { createFcLayers } from '../../src/fc/layer-api';
import { parseManifest } from '../../src/manifest/manifest';
import { createLogger } from '../../src/log/logger';
import { createOssStore } from '../../src/oss/ali-oss-store';
import { decide } from '../../src/publish/decide';
import { Deadline, retryPolicyFor } from '../../src/publish/deadline';
import type { HeldClaim, Outcome, RecordDecision } from '../../src/publish/outcome';
import { CreateInDoubtError } from '../../src/publish/steps/errors';
import { resultOf, startFlow, type Flow, type PublishDeps, type RecordInput } from '../../src/publish/steps/context';
import { readResult } from '../../src/result/document';
import type { PublishResult } from '../../src/publish/result';
import { IN_PROCESS_FC_ENDPOINT, TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';
import { manifestBytes, NODE_MANIFEST, nodejsLayerZip } from '../support/layers';

/**
 * The decider, one row per outcome variant, over the OSS and FC emulators (reached through the
 * ali-oss adapter and the FC 3.0 client): the result it writes (or not), what becomes of the claim
 * (a second delivery's claim tells), and whether the handler is told to reject.
 */
const env = useMswCloud();
const PREFIX = '_audit/';
const KEYS = { base: 'layers/left-pad', zip: 'layers/left-pad.zip', manifest: 'layers/left-pad.layer.json', result: 'layers/left-pad.result.json' };
const MANIFEST = parseManifest(manifestBytes(NODE_MANIFEST), KEYS.manifest, '2023-03-30');

const store = () => createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 });
const layers = () =>
  createFcLayers({
    accountId: TEST_ACCOUNT_ID,
    region: TEST_REGION,
    endpoint: new URL(IN_PROCESS_FC_ENDPOINT),
    apiVersion: '2023-03-30',
    credentials: TEST_CREDENTIALS,
    timeoutMs: 5_000,
  });

const input: RecordInput = {
  role: 'zip',
  keys: KEYS,
  eventKey: KEYS.zip,
  eventName: 'ObjectCreated:PutObject',
  eventTime: '2026-12-07T00:00:00.000Z',
  eventETag: '"E1"',
  eventRequestId: 'oss-req',
};

/** A flow as the handler starts one; a rerun would mean the decider thought a newer upload lost its result. */
function flowOf(requestId = 'req-a'): Flow {
  const deadline = Deadline.after(60_000);
  const deps: PublishDeps = {
    store: store(),
    layers,
    auditPrefix: PREFIX,
    maxZipBytes: 1 << 20,
    readConcurrency: 2,
    fcApiVersion: '2023-03-30',
    allowedLayers: [],
    logger: createLogger({ requestId, write: () => {} }),
    deadline,
    retry: retryPolicyFor(60_000),
    invocationEndsAt: new Date(Date.now() + 60_000),
    requestId,
  };
  return startFlow(input, deps, () => Promise.reject(new Error('the decider re-ran a newer upload: none is there')));
}

/** The zip and manifest in the bucket, and this delivery holding the upload's claim. */
async function uploaded(): Promise<{ ledger: UploadLedger; held: HeldClaim; zipCrc: string }> {
  const zip = nodejsLayerZip();
  await env.cloud.oss.putObject(TEST_BUCKET, KEYS.zip, zip);
  await env.cloud.oss.putObject(TEST_BUCKET, KEYS.manifest, manifestBytes(NODE_MANIFEST));
  const ledger = new UploadLedger(store(), PREFIX, 'upload-1');
  const claimed = await ledger.claim('req-a', new Date(), 60_000);
  if (claimed.kind !== 'claimed') throw new Error(`expected a claim, got ${claimed.kind}`);
  return { ledger, held: { ledger, record: claimed.claim }, zipCrc: new Crc64().update(zip).digest() };
}

/** What a second delivery finds: the claim still held, free to take, or the upload settled. */
async function claimNow(): Promise<string> {
  return (await new UploadLedger(store(), PREFIX, 'upload-1').claim('req-b', new Date(), 60_000)).kind;
}

async function published(flow: Flow, zipCrc: string): Promise<PublishResult> {
  const version = await layers().create({
    layerName: MANIFEST.layerName,
    ossBucketName: TEST_BUCKET,
    ossObjectName: KEYS.zip,
    description: MANIFEST.description,
    compatibleRuntime: MANIFEST.compatibleRuntime,
    checksum: zipCrc,
    license: undefined,
  });
  return { ...resultOf(flow, { status: 'published', version }), layerName: MANIFEST.layerName };
}

interface Row {
  outcome: (flow: Flow, claim: { ledger: UploadLedger; held: HeldClaim; zipCrc: string }) => Promise<Outcome>;
  /** The result's status after deciding; undefined: none written. */
  result: PublishResult['status'] | undefined;
  /** What a second delivery's claim finds. */
  claim: 'busy' | 'claimed' | 'done';
  redeliver: RegExp | undefined;
  entry: string;
}

const rows: Array<[string, Row]> = [
  [
    'waiting: the waiting result, the claim untouched',
    {
      outcome: async () => ({ kind: 'waiting', waiting: { missing: KEYS.manifest, since: '2026-12-07T00:00:00.000Z' } }),
      result: 'waiting',
      claim: 'busy',
      redeliver: undefined,
      entry: 'waiting',
    },
  ],
  [
    'stale with a held claim: no result, the claim released',
    {
      outcome: async (_, { held }) => ({ kind: 'stale', claim: { held, reason: 'replaced while read' } }),
      result: undefined,
      claim: 'claimed',
      redeliver: undefined,
      entry: 'stale',
    },
  ],
  [
    'published now: settled, the claim gone with it, the result written',
    {
      outcome: async (flow, { ledger, held, zipCrc }) => ({
        kind: 'published',
        result: await published(flow, zipCrc),
        upload: { ledger, manifest: MANIFEST },
        settle: { held, generation: 1 },
      }),
      result: 'published',
      claim: 'done',
      redeliver: undefined,
      entry: 'published',
    },
  ],
  [
    'unchanged, repeated from the ledger: the result written, no claim taken or let go',
    {
      outcome: async (flow, { ledger, zipCrc }) => ({
        kind: 'unchanged',
        result: { ...(await published(flow, zipCrc)), status: 'unchanged' },
        upload: { ledger, manifest: MANIFEST },
      }),
      result: 'unchanged',
      claim: 'busy',
      redeliver: undefined,
      entry: 'unchanged',
    },
  ],
  [
    'failed for good: the failed result, the claim released, no rejection',
    {
      outcome: async (_, { ledger, held }) => ({
        kind: 'failed',
        failure: new CodeChecksumMismatchError('FC reports another checksum'),
        claim: { held, reason: 'mismatch' },
        upload: { ledger, manifest: MANIFEST },
      }),
      result: 'failed',
      claim: 'claimed',
      redeliver: undefined,
      entry: 'failed',
    },
  ],
  [
    'failed for now: the failed result, the claim released, delivered again',
    {
      outcome: async (_, { ledger, held }) => ({
        kind: 'failed',
        failure: new TransientError('OSS answered 503'),
        claim: { held, reason: 'OSS answered 503' },
        upload: { ledger },
      }),
      result: 'failed',
      claim: 'claimed',
      redeliver: /OSS answered 503/,
      entry: 'failed',
    },
  ],
  [
    'failed with a create in doubt: the claim kept, delivered again',
    {
      outcome: async (_, { ledger, held }) => ({
        kind: 'failed',
        failure: new CreateInDoubtError('CreateLayerVersion got no answer'),
        claim: { held, reason: 'no answer' },
        upload: { ledger },
      }),
      result: 'failed',
      claim: 'busy',
      redeliver: /got no answer/,
      entry: 'failed',
    },
  ],
  [
    'failed at home for good while a create in cn-shanghai had no answer: the claim kept, delivered again for that region',
    {
      outcome: async (_, { ledger, held }) => ({
        kind: 'failed',
        failure: new CodeChecksumMismatchError('FC reports another checksum'),
        claim: { held, reason: 'mismatch', createInDoubtIn: ['cn-shanghai'] },
        upload: { ledger },
        spread: {
          regions: {
            'cn-shanghai': { status: 'failed', error: { code: 'Unavailable', message: 'cn-shanghai: CreateLayerVersion got no answer', retryable: true } },
          },
          unfinished: ['cn-shanghai'],
          createInDoubt: ['cn-shanghai'],
          deletedVersion: false,
        },
      }),
      result: 'failed',
      claim: 'busy',
      redeliver: /not yet published in cn-shanghai: cn-shanghai: CreateLayerVersion got no answer/,
      entry: 'failed',
    },
  ],
  [
    'invalid event: its result create-if-absent, no rejection',
    {
      outcome: async () => ({ kind: 'invalid', failure: new InvalidInputError('EventInvalid', 'eTag is missing', { context: { key: KEYS.zip } }) }),
      result: 'failed',
      claim: 'busy',
      redeliver: undefined,
      entry: 'failed',
    },
  ],
  [
    'redeliver, busy: no result, the claim released, delivered again',
    {
      outcome: async (_, { held }) => ({
        kind: 'redeliver',
        reason: 'another delivery is creating',
        claim: { held, reason: 'an earlier attempt may still publish' },
      }),
      result: undefined,
      claim: 'claimed',
      redeliver: /another delivery is creating/,
      entry: 'failed',
    },
  ],
  [
    'redeliver with how far it got: that result written, the claim released, delivered again',
    {
      outcome: async (flow, { ledger, held, zipCrc }) => ({
        kind: 'redeliver',
        reason: 'not yet published in cn-shanghai',
        claim: { held, reason: 'not yet published in cn-shanghai' },
        result: { document: await published(flow, zipCrc), ledger },
      }),
      result: 'published',
      claim: 'claimed',
      redeliver: /cn-shanghai/,
      entry: 'published',
    },
  ],
];

describe('decide: one outcome, one result, one claim fate, one rejection flag', () => {
  it('has a row for every outcome variant', () => {
    // A variant added to Outcome fails to compile here until it has its row.
    const kinds: Record<Outcome['kind'], true> = { waiting: true, stale: true, published: true, unchanged: true, failed: true, invalid: true, redeliver: true };
    expect(new Set(rows.map(([name]) => name.split(/[ :,]/)[0]))).toEqual(new Set(Object.keys(kinds)));
  });

  it.each(rows)('%s', async (_, row) => {
    const claim = await uploaded();
    const flow = flowOf();
    const decided: RecordDecision = await decide(flow, await row.outcome(flow, claim));
    const written = await readResult(store(), KEYS.result);
    expect(written === undefined || written === 'unreadable' ? undefined : written.status).toBe(row.result);
    expect(await claimNow()).toBe(row.claim);
    expect(decided.entry).toMatchObject({ key: KEYS.zip, status: row.entry });
    if (row.redeliver === undefined) expect(decided.redeliver).toBeUndefined();
    else expect(decided.redeliver).toMatch(row.redeliver);
  });
});
