import { UploadLedger, uploadIdOf, type ClaimMarker } from '../../audit/ledger';
import type { PublisherError } from '../../errors';
import { readResult, type Uploader } from '../../result/document';
import type { Manifest } from '../../manifest/manifest';
import { sameEtag, type ObjectHead } from '../../oss/store';
import { sleep } from '../deadline';
import type { RegionTarget } from '../../config';
import type { PublishResult, RegionResult } from '../result';
import { auditRegion, entryOf } from './region-entry';
import { BUSY_POLL_MS, canWait, now, resultOf, retrying, ttlMs, type Flow } from './context';
import { CreateInDoubtError } from './errors';
import type { Busy, ClaimToLet, HeldClaim } from '../outcome';
import { findExisting } from './existing';
import { verify } from './verify';

/** The ledger of this upload: this zip version and this manifest version together. */
export function ledgerOf(flow: Flow, zip: ObjectHead, manifest: ObjectHead): { uploadId: string; ledger: UploadLedger } {
  const { deps, input } = flow;
  const uploadId = uploadIdOf({ bucket: deps.store.bucket, zipKey: input.keys.zip, zip, manifestKey: input.keys.manifest, manifest });
  return { uploadId, ledger: new UploadLedger(deps.store, deps.auditPrefix, uploadId) };
}

/**
 * Who uploaded this event's object, in the upload's ledger; and the other object's uploader when
 * only the `waiting` result its event left tells it. Each object's event adds its own whenever it
 * comes, just before it writes the result, so every result of the upload names both (and nothing
 * here delays the claim, whose time bounds how long a create may be in doubt). A courtesy: a
 * failure is logged, never the record's.
 */
export async function recordUploaders(flow: Flow, ledger: UploadLedger): Promise<void> {
  const { input, facts } = flow;
  const other = input.role === 'zip' ? 'manifest' : 'zip';
  try {
    if (input.uploader !== undefined) await retrying(flow, 'ledger.uploader', () => ledger.recordUploader(input.role, input.uploader!), true);
    const etag = other === 'zip' ? facts.source.etag : facts.manifestInfo?.etag;
    const lent = etag === undefined ? undefined : await uploaderFromWaiting(flow, other, etag);
    if (lent !== undefined) await retrying(flow, 'ledger.uploader', () => ledger.recordUploader(other, lent), true);
  } catch (error) {
    flow.log.warn('ledger.uploader.failed', { error });
  }
}

/**
 * The other object's uploader, from the `waiting` result its own event left at the result key, when
 * that result describes the very object version this upload has (same ETag): its event may have
 * ended before this object landed. Anything else tells nothing.
 */
async function uploaderFromWaiting(flow: Flow, role: 'zip' | 'manifest', etag: string): Promise<Uploader | undefined> {
  const previous = await retrying(flow, 'result.read', () => readResult(flow.deps.store, flow.input.keys.result), true);
  if (previous === undefined || previous === 'unreadable' || previous.status !== 'waiting') return undefined;
  // The waiting result saw only its own object: that one must be the object this upload names.
  const seen = role === 'zip' ? previous.source.etag : previous.manifest?.etag;
  return seen !== undefined && sameEtag(seen, etag) ? previous.provenance?.[role] : undefined;
}

export type Claimed = { kind: 'settled'; outcome: PublishResult } | { kind: 'claimed'; held: HeldClaim; generation: number } | { kind: 'busy'; busy: Busy };

/**
 * The upload claimed for this flow, which then settles it as `generation`; or its outcome, already
 * decided. Outcomes whose version was deleted since are void: the upload is decided again (docs/contract.md §7).
 */
export async function claimUpload(
  flow: Flow,
  ledger: UploadLedger,
  zip: ObjectHead,
  manifest: Manifest,
  targets: readonly RegionTarget[] | undefined,
): Promise<Claimed> {
  let voidGeneration = 0;
  for (;;) {
    const claimed = await claim(flow, ledger, zip, manifest, targets, voidGeneration);
    if (claimed.kind === 'busy') return { kind: 'busy', busy: claimed.busy };
    if (claimed.kind !== 'done') return { kind: 'claimed', held: { ledger, record: claimed.claim }, generation: voidGeneration + 1 };
    if (await outcomeStands(flow, claimed.outcome.result)) return { kind: 'settled', outcome: claimed.outcome.result };
    flow.log.warn('outcome.void', { generation: claimed.outcome.generation, version: claimed.outcome.result.version });
    voidGeneration = claimed.outcome.generation;
  }
}

/**
 * Claims the upload, or waits for whoever holds it, within this invocation's time. A holder that
 * got as far as creating may have died right after: its version is adopted at once (docs/contract.md §7).
 */
async function claim(
  flow: Flow,
  ledger: UploadLedger,
  zip: ObjectHead,
  manifest: Manifest,
  targets: readonly RegionTarget[] | undefined,
  afterGeneration: number,
) {
  for (;;) {
    const outcome = await retrying(flow, 'claim', () => ledger.claim(flow.deps.requestId, now(flow), ttlMs(flow), afterGeneration));
    if (outcome.kind !== 'busy') return outcome;
    const adopted = await adoptFromHolder(flow, ledger, outcome.holder, zip, manifest, targets);
    if (adopted) {
      return { kind: 'done' as const, outcome: await retrying(flow, 'settle', () => ledger.settle(adopted, afterGeneration + 1)) };
    }
    flow.log.info('claim.busy', { holder: outcome.holder.requestId, attempt: outcome.holder.attempt, remainingMs: Math.round(outcome.remainingMs) });
    if (!canWait(flow, BUSY_POLL_MS)) {
      // Not a result: the holder will write it. Rejecting has Function Compute deliver this again.
      const reason = `another delivery (request ${outcome.holder.requestId}) is publishing this upload for ${Math.ceil(outcome.remainingMs / 1000)} s more`;
      return { kind: 'busy' as const, busy: { status: 'busy', reason } satisfies Busy };
    }
    await sleep(Math.min(BUSY_POLL_MS, Math.max(0, outcome.remainingMs)));
  }
}

/**
 * A version newer than the holder's intent whose codeChecksum is this zip's CRC (as OSS reports
 * it, or as read once when OSS has none), with this description and these runtimes, is the holder's.
 * With other regions, the same holds in each: a region without an outcome whose version landed
 * above the holder's intent there is adopted and settled at once, as at home, so a holder that died
 * right after its last create holds nothing up; a region the holder never got to leaves it waiting.
 */
async function adoptFromHolder(
  flow: Flow,
  ledger: UploadLedger,
  holder: ClaimMarker,
  zip: ObjectHead,
  manifest: Manifest,
  targets: readonly RegionTarget[] | undefined,
): Promise<PublishResult | undefined> {
  const intent = await retrying(flow, 'intents', () => ledger.intentOf(holder.attempt));
  if (intent === undefined) return undefined;
  // OSS has no CRC for copied and legacy objects: then the bytes say what the code is.
  const crc64 = zip.crc64 ?? (await verify(flow, zip, manifest)).crc64;
  const existing = await findExisting(flow, { layers: flow.deps.layers, region: undefined }, manifest, crc64, intent);
  if (!('status' in existing) || existing.status !== 'published') return undefined;
  const regions = targets === undefined ? undefined : await adoptRegions(flow, ledger, holder, targets, manifest, crc64);
  if (regions === null) return undefined;
  return resultOf(flow, { ...existing, crc64, regions: regions && { [flow.deps.regions!.home]: entryOf(existing, { home: true }), ...regions } });
}

/** Every other region's entry, settled before or adopted from the holder now; null while one is neither. */
async function adoptRegions(
  flow: Flow,
  ledger: UploadLedger,
  holder: ClaimMarker,
  targets: readonly RegionTarget[],
  manifest: Manifest,
  crc64: string,
): Promise<Record<string, RegionResult> | null> {
  const entries: Record<string, RegionResult> = {};
  for (const target of targets) {
    const { region } = target;
    const settled = await retrying(flow, 'region.outcome', () => ledger.regionOutcome(region));
    if (settled !== undefined) {
      entries[region] = settled;
      continue;
    }
    const intent = await retrying(flow, 'intents', () => ledger.intentOf(holder.attempt, region));
    if (intent === undefined) return null;
    const existing = await findExisting(flow, { layers: flow.deps.regions!.connect(target).layers, region }, manifest, crc64, intent);
    if (!('status' in existing) || existing.status !== 'published') return null;
    const final = await retrying(flow, 'region.settle', () => ledger.settleRegion(region, entryOf(existing, {})));
    await auditRegion(flow, ledger, region, final);
    entries[region] = final;
  }
  return entries;
}

/** A recorded outcome stands while the version it names exists with the code it names. */
export async function outcomeStands(flow: Flow, outcome: PublishResult): Promise<boolean> {
  const { layerName, version } = outcome;
  if (layerName === undefined || version === undefined) return true;
  const versions = await retrying(flow, 'versions', () => flow.deps.layers().versionsFrom(layerName, version));
  const named = versions.find((candidate) => candidate.version === version);
  return named !== undefined && (outcome.source.crc64 === undefined || named.codeChecksum === outcome.source.crc64);
}

/**
 * The one place that decides whether the claim may go. It stays while a create this attempt sent had
 * no answer, at home (`failure` is the CreateInDoubtError) or in another region (`createInDoubtIn`):
 * that version may still appear, and only the claim's running out tells the next attempt to look for
 * it. Otherwise the attempt made no version, or its version is in an outcome, and the next attempt
 * may start at once.
 */
export async function releaseClaim(flow: Flow, claim: ClaimToLet, failure?: PublisherError): Promise<void> {
  const { held, reason, createInDoubtIn = [] } = claim;
  if (failure instanceof CreateInDoubtError) return;
  if (createInDoubtIn.length > 0) {
    flow.log.info('claim.kept', { reason: 'a create in another region had no answer', regions: createInDoubtIn });
    return;
  }
  await retrying(flow, 'claim.release', () => held.ledger.release(held.record, reason)).catch((error: unknown) =>
    flow.log.warn('claim.release.failed', { error }),
  );
}
