import { CreateLog, type ClaimRecord } from '../../audit/ledger';
import { CodeChecksumMismatchError, TransientError } from '../../errors';
import type { LayerVersion } from '../../fc/layers';
import type { Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import { sleep, withRetry } from '../deadline';
import { BUSY_POLL_MS, canWait, now, resultOf, retrying, type Flow } from './context';
import type { Busy, HeldClaim, Published } from '../outcome';
import { CreateInDoubtError } from './errors';
import { findExisting, type CreateFailed, type Decided, type LayerTarget } from './existing';
import { inRegion } from './region-entry';
import { verify } from './verify';

/** Steps 4 to 7 under a held claim, in the home region: the zip verified, then an existing version or a new one. */
export async function publish(flow: Flow, zip: ObjectHead, manifest: Manifest, held: HeldClaim): Promise<Published> {
  const verified = await verify(flow, zip, manifest);
  const decided = await publishTo(flow, homeTarget(flow, held), manifest, verified.crc64, held.record);
  if (decided.status === 'busy') return { kind: 'busy', busy: decided };
  if (decided.status === 'failed') return { kind: 'failed', error: decided.error };
  return { kind: 'decided', result: resultOf(flow, decided) };
}

/** The home region: FC builds the version from the zip where it was uploaded. */
export function homeTarget(flow: Flow, held: HeldClaim): LayerTarget {
  const { deps, input } = flow;
  return {
    region: undefined,
    layers: deps.layers,
    code: { bucket: deps.store.bucket, key: input.keys.zip },
    ledger: held.ledger,
    creates: new CreateLog(deps.store, deps.auditPrefix, deps.store.bucket, input.keys.zip),
  };
}

/**
 * Steps 5 to 7 in one region, for code whose CRC-64 is verified: an existing version or a new one;
 * busy, while an earlier create of the same code may still land; or failed, for a reason FC gave.
 */
export async function publishTo(
  flow: Flow,
  target: LayerTarget,
  manifest: Manifest,
  crc64: string,
  claim: ClaimRecord,
): Promise<Decided | Busy | CreateFailed> {
  const { ledger, creates, code, region } = target;
  for (;;) {
    const earliest = await retrying(flow, 'intents', () => ledger.earliestIntent(claim.attempt, region));
    const existing = await findExisting(flow, target, manifest, crc64, earliest);
    // An earlier attempt's version: this upload's, whatever else is pending.
    if ('status' in existing && existing.status === 'published') return existing;
    // A create of this key without an answer may still land, from this upload or an older one
    // (FC reads the key when it runs it): deciding now could repeat its version. Wait for it to
    // land (then adopted or unchanged) or for its time to pass.
    const pending = await retrying(flow, 'creates', () => creates.inDoubt(now(flow)));
    if (pending === undefined) {
      return 'status' in existing ? existing : createVersion(flow, target, manifest, crc64, existing.newestVersion, claim);
    }
    flow.log.info('create.in-doubt', { region, holder: pending.requestId, attempt: pending.attempt, remainingMs: Math.round(pending.remainingMs) });
    const waitMs = Math.min(BUSY_POLL_MS, pending.remainingMs);
    if (!canWait(flow, waitMs)) {
      const reason =
        `${inRegion(region)}an earlier CreateLayerVersion of ${code.key} (request ${pending.requestId}) had no answer; ` +
        `its version may still appear for ${Math.ceil(pending.remainingMs / 1000)} s`;
      return { status: 'busy', reason };
    }
    await sleep(waitMs);
  }
}

/** Steps 6 and 7 under this attempt's intent. */
async function createVersion(
  flow: Flow,
  target: LayerTarget,
  manifest: Manifest,
  crc64: string,
  newestBefore: number,
  claim: ClaimRecord,
): Promise<Decided | CreateFailed> {
  const { region } = target;
  await retrying(flow, 'intent', () => target.ledger.recordIntent(claim, newestBefore, region));
  await retrying(flow, 'intent', () => target.creates.record(claim));
  const created = await create(flow, target, manifest, crc64, newestBefore);
  if ('inDoubt' in created) return awaitLanding(flow, target, manifest, crc64, newestBefore, created.inDoubt);
  if ('status' in created) return created;
  if (created.codeChecksum !== crc64) {
    // FC read other bytes than ours: the zip was replaced after we read it. A newer upload may
    // have taken this version as `unchanged` meanwhile; once it is gone, that upload's result is
    // written again (writeResult), so no result names it (docs/contract.md §7). The error says the
    // version is deleted: only this failure comes after a delete.
    await retrying(flow, 'delete', () => target.layers().delete(manifest.layerName, created.version));
    const error = new CodeChecksumMismatchError(
      `${inRegion(region)}Function Compute reports codeChecksum ${created.codeChecksum || '(none)'} for ${manifest.layerName} version ${created.version}, ` +
        `but the zip read from OSS has CRC-64 ${crc64}; the version was deleted. Upload the zip again`,
      { context: { layerName: manifest.layerName, version: created.version, codeChecksum: created.codeChecksum, crc64, region } },
    );
    return { status: 'failed', error };
  }
  flow.log.info('layer.created', { layerName: manifest.layerName, version: created.version, region });
  return { status: 'published', version: created };
}

/** A create without an answer: its version, if FC makes one, is adopted; no second create. */
async function awaitLanding(
  flow: Flow,
  target: LayerTarget,
  manifest: Manifest,
  crc64: string,
  newestBefore: number,
  unknown: CreateInDoubtError,
): Promise<Decided | CreateFailed> {
  while (canWait(flow, BUSY_POLL_MS)) {
    await sleep(BUSY_POLL_MS);
    const existing = await findExisting(flow, target, manifest, crc64, newestBefore);
    if ('status' in existing) return existing;
  }
  return { status: 'failed', error: unknown };
}

/**
 * Step 6. A create that FC answered with a transient error left nothing half done: the versions
 * are listed, and it is tried again. One without an answer may still make a version at any
 * moment, so it is never tried again here (docs/contract.md §7).
 */
async function create(
  flow: Flow,
  target: LayerTarget,
  manifest: Manifest,
  crc64: string,
  newestBefore: number,
): Promise<LayerVersion | Decided | { inDoubt: CreateInDoubtError }> {
  const { deadline, retry } = flow.deps;
  return withRetry(
    async (attempt) => {
      if (attempt > 1) {
        const existing = await findExisting(flow, target, manifest, crc64, newestBefore);
        if ('status' in existing) return existing;
      }
      const request = target.layers().create({
        layerName: manifest.layerName,
        ossBucketName: target.code.bucket,
        ossObjectName: target.code.key,
        description: manifest.description,
        compatibleRuntime: manifest.compatibleRuntime,
        checksum: crc64,
        license: manifest.license,
      });
      try {
        return await deadline.within(request, retry.reserveMs, 'CreateLayerVersion');
      } catch (error) {
        // No answer: never retried, for its version may appear at any moment.
        if (error instanceof TransientError && typeof error.context.status !== 'number') {
          const message = `${inRegion(target.region)}CreateLayerVersion for ${manifest.layerName} got no answer: ${error.message}`;
          return { inDoubt: new CreateInDoubtError(message, { cause: error }) };
        }
        throw error;
      }
    },
    deadline,
    retry,
    (error, attempt, delayMs) => flow.log.warn('layer.create.retry', { region: target.region, attempt, delayMs, error }),
  );
}
