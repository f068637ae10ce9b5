import { CreateLog } from '../../audit/ledger';
import type { RegionTarget } from '../../config';
import { CodeChecksumMismatchError, PreconditionFailedError, TransientError } from '../../errors';
import type { Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import { copyToRegion, type StagedCopy } from '../../regions/copy';
import { ZipSpool, type ZipReader } from '../../regions/spool';
import { selectRegionTargets } from '../../regions/targets';
import { putLayerAcl } from '../acl';
import type { RegionResult } from '../result';
import type { VerifiedZip } from '../verify-zip';
import { resultOf, retrying, retryingIn, type Flow } from './context';
import type { Busy, HeldClaim, Published, Spread } from '../outcome';
import { homeTarget, publishTo } from './create';
import { CreateInDoubtError } from './errors';
import type { CreateFailed, Decided, LayerTarget } from './existing';
import { auditRegion, entryOf, failedEntry } from './region-entry';
import { verify } from './verify';

/**
 * The other regions this upload goes to: `REGIONS`, narrowed by the manifest's
 * `regions`. Undefined when `REGIONS` is not set: then the result has no `regions` map at all.
 */
export function regionsOf(flow: Flow, manifest: Manifest): RegionTarget[] | undefined {
  const regions = flow.deps.regions;
  if (regions === undefined || regions.configured.length === 0) return undefined;
  return selectRegionTargets(regions.configured, regions.home, manifest.regions, flow.input.keys.manifest);
}

/**
 * Steps 4 to 7 in every region at once: the zip is verified at home while it is copied to each
 * other region; each region creates only once the verification passed. A region failing does not
 * stop the others; the home region's fields stay the result's own (docs/contract.md §6), and `regions`
 * says where each version is. Ends with the home region's decision, what it threw, or busy while
 * an earlier create at home may still land; each beside what the other regions left (`spread`).
 */
export async function publishEverywhere(
  flow: Flow,
  zip: ObjectHead,
  manifest: Manifest,
  held: HeldClaim,
  targets: readonly RegionTarget[],
): Promise<Everywhere> {
  const home = flow.deps.regions!.home;
  // The copies read what the verification read, from disk: the home link carries the zip once.
  const spool = flow.zipCheck.verified !== undefined || targets.length === 0 ? undefined : await ZipSpool.open(flow.deps.store, flow.input.keys.zip, zip);
  const source = spool?.reader() ?? flow.deps.store;
  let outcomes: Array<PromiseSettledResult<Decided | Busy | CreateFailed | RegionEnd>>;
  try {
    const verifying = verify(flow, zip, manifest, spool?.tap());
    const over = () => spool?.finish();
    verifying.then(over, over);
    const homeDecided = verifying.then((verified) => publishTo(flow, homeTarget(flow, held), manifest, verified.crc64, held.record));
    const others = targets.map((target) => publishInRegion(flow, target, zip, source, manifest, verifying, held));
    outcomes = await Promise.allSettled([homeDecided, ...others]);
  } finally {
    await spool?.close();
  }
  const [homeOutcome, ...otherOutcomes] = outcomes as [PromiseSettledResult<Decided | Busy | CreateFailed>, ...Array<PromiseSettledResult<RegionEnd>>];
  // A zip that failed its checks, or was replaced, is published nowhere: one error says why.
  const unpublishable = otherOutcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (unpublishable !== undefined) throw unpublishable.reason;
  const ends = targets.map((target, index) => ({ region: target.region, ...(otherOutcomes[index] as PromiseFulfilledResult<RegionEnd>).value }));
  const spread: Spread = {
    regions: Object.fromEntries(ends.map((end) => [end.region, end.entry])),
    unfinished: ends.filter((end) => end.unfinished !== undefined).map((end) => end.region),
    createInDoubt: ends.filter((end) => end.unfinished === 'create in doubt').map((end) => end.region),
    deletedVersion: ends.some((end) => end.deletedVersion),
  };
  // A throw at home (a bug, I/O past its retries) ends it as a failure FC gave does.
  const homeEnd: Decided | Busy | { status: 'failed'; error: unknown } =
    homeOutcome.status === 'rejected' ? { status: 'failed', error: homeOutcome.reason } : homeOutcome.value;
  if (homeEnd.status === 'failed') {
    const regions = { [home]: failedEntry(homeEnd.error, undefined, { home: true }), ...spread.regions };
    return { kind: 'failed', error: homeEnd.error, spread: { ...spread, regions } };
  }
  if (homeEnd.status === 'busy') return { kind: 'busy', busy: homeEnd, spread };
  const regions = { [home]: entryOf(homeEnd, { home: true }), ...spread.regions };
  return { kind: 'decided', result: resultOf(flow, { ...homeEnd, regions }), spread: { ...spread, regions } };
}

/** The home region's end beside what every other region left. */
export type Everywhere = Published & { spread: Spread };

/** One other region's end: its entry; whether it is left for the next delivery, and why; whether a version was deleted. */
interface RegionEnd {
  entry: RegionResult;
  unfinished?: 'failed for now' | 'create in doubt' | undefined;
  deletedVersion: boolean;
}

/**
 * One other region: settled before (its entry stands), or copied, decided and settled now. Resolves
 * with the region's entry, failed ones included; rejects only when the zip is not publishable at all.
 */
async function publishInRegion(
  flow: Flow,
  target: RegionTarget,
  zip: ObjectHead,
  source: ZipReader,
  manifest: Manifest,
  verifying: Promise<VerifiedZip>,
  held: HeldClaim,
): Promise<RegionEnd> {
  const { region } = target;
  const { ledger } = held;
  let staged: StagedCopy | undefined;
  let ended: { entry: RegionResult } | { error: unknown };
  try {
    const settled = await retrying(flow, 'region.outcome', () => ledger.regionOutcome(region));
    if (settled !== undefined) {
      flow.log.info('region.already-settled', { region, status: settled.status, version: settled.version });
      return { entry: settled, deletedVersion: false };
    }
    const clients = flow.deps.regions!.connect(target);
    // OSS's CRC-64 lets the copy start while the zip is verified; the create waits for the verdict.
    const crc64 = zip.crc64 ?? (await verifying).crc64;
    staged = await copyToRegion(
      { store: source, key: flow.input.keys.zip, head: zip, crc64 },
      { region, store: clients.store },
      { uploadId: ledger.uploadId, auditPrefix: flow.deps.auditPrefix, retry: (operation) => retrying(flow, `copy.${region}`, operation) },
    );
    flow.log.info('region.staged', { region, bucket: staged.bucket, key: staged.key, reused: staged.reused, parts: staged.parts });
    const verified = await verifying;
    const layerTarget: LayerTarget = {
      region,
      layers: clients.layers,
      code: { bucket: staged.bucket, key: staged.key },
      ledger,
      creates: new CreateLog(flow.deps.store, flow.deps.auditPrefix, staged.bucket, staged.key),
    };
    const decided = await publishTo(flow, layerTarget, manifest, verified.crc64, held.record);
    if (decided.status === 'busy') {
      // Another create there may still land: this region is resumed by the next delivery.
      ended = { error: new TransientError(decided.reason, { context: { region } }) };
    } else if (decided.status === 'failed') {
      ended = { error: decided.error };
    } else {
      const acl = manifest.public === undefined ? undefined : await putLayerAcl(manifest.layerName, manifest.public, aclDeps(flow, clients.layers));
      ended = { entry: entryOf(decided, { staged, acl }) };
    }
  } catch (caught) {
    if (await failsToVerify(verifying)) throw caught;
    ended = { error: caught instanceof PreconditionFailedError ? replacedWhileCopied(flow, target) : caught };
  }
  let entry: RegionResult;
  let deletedVersion = false;
  if ('error' in ended) {
    const { error } = ended;
    deletedVersion = error instanceof CodeChecksumMismatchError;
    // Before the copy counted, the staging bucket is what a person must look at.
    entry = failedEntry(error, staged === undefined ? `${region}: copying to ${target.bucket}` : region, { staged });
    if (entry.error!.retryable) return unfinished(flow, region, { entry, deletedVersion }, error);
    flow.log.error('region.failed', { region, error });
  } else {
    entry = ended.entry;
  }
  try {
    const final = await retrying(flow, 'region.settle', () => ledger.settleRegion(region, entry));
    await auditRegion(flow, ledger, region, final);
    return { entry: final, deletedVersion };
  } catch (error) {
    // Decided but not recorded: the next delivery decides again, adopting a version made here.
    return unfinished(flow, region, { entry, deletedVersion }, error);
  }
}

/** Not settled: the next delivery resumes this region, and only the regions like it. */
function unfinished(flow: Flow, region: string, end: RegionEnd, error: unknown): RegionEnd {
  flow.log.warn('region.unfinished', { region, error });
  return { ...end, unfinished: error instanceof CreateInDoubtError ? 'create in doubt' : 'failed for now' };
}

/**
 * The zip was replaced while it was copied, after the home region may have published it. Not
 * settled: the result is written unless the newer upload's is there (docs/contract.md §7), and the
 * delivery again finds the event stale; the newer upload's own event publishes it everywhere.
 */
function replacedWhileCopied(flow: Flow, target: RegionTarget): TransientError {
  return new TransientError(`${flow.input.keys.zip} was replaced while it was copied to ${target.bucket}; the newer upload is published by its own event`, {
    context: { region: target.region, bucket: target.bucket },
  });
}

async function failsToVerify(verifying: Promise<VerifiedZip>): Promise<boolean> {
  return verifying.then(
    () => false,
    () => true,
  );
}

function aclDeps(flow: Flow, layers: LayerTarget['layers']) {
  return { layers, retrying: retryingIn(flow), log: flow.log };
}

/** What must be delivered again for, naming each unfinished region and why. */
export function unfinishedFailure(spread: Spread): string {
  const reasons = spread.unfinished.map((region) => spread.regions[region]?.error?.message ?? `${region}: its outcome could not be recorded`);
  return `not yet published in ${spread.unfinished.join(', ')}: ${reasons.join('; ')}`;
}
