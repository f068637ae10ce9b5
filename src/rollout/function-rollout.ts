import { PublisherError } from '../errors';
import type { AliasTarget, FunctionConfig, FunctionsApi } from '../fc/functions';
import { layerOfArn } from '../fc/layer-api';
import type { Logger } from '../log/logger';
import { MAX_LAYERS_PER_FUNCTION, replaceLayer, sameLayers } from './layers';
import type { CanarySetting } from './manifest-fields';
import { type CanaryMarker, type FunctionMarkers, type Intent, type Marker, remainingMs } from './markers';
import type { CanaryOutcome, FunctionRollout } from './outcome';

/** One function a rollout may move to the new version. */
export interface FunctionTarget {
  functionName: string;
  /** The region its entry names (every region's with `REGIONS`, none without). */
  region: string | undefined;
  /** Named by the manifest itself, not matched by a glob: moved even when it does not use the layer yet. */
  explicit: boolean;
  layerName: string;
  version: number;
  arn: string;
  uploadId: string;
  canary: CanarySetting | undefined;
}

export interface FunctionRolloutDeps {
  fc: FunctionsApi;
  markers: FunctionMarkers;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  log: Logger;
  now: () => Date;
  /** How long this invocation may still act: how long its intents hold off other deliveries. */
  ttlMs: number;
  requestId: string;
  /** Waits `ms` when the invocation can afford it; false when it cannot (the function is then `pending`). */
  wait: (ms: number) => Promise<boolean>;
  /** One audit record per function change. */
  audit: (record: Record<string, unknown>) => Promise<void>;
}

/** How often a delivery that found another one changing the function looks again. */
const BUSY_POLL_MS = 1_000;
/** Attempts at one function before the markers are not trusted any more. */
const MAX_INTENTS = 20;

/**
 * Moves one function to the new version, once whatever the deliveries (docs/rollout.md): the first
 * delivery to create `done.json` has the last word, and every later one repeats it. The function is
 * read, compared and written, then read again (FC 3.0 offers no conditional update), and a change
 * someone made meanwhile is never overwritten.
 */
export async function rollOutFunction(target: FunctionTarget, deps: FunctionRolloutDeps): Promise<FunctionRollout> {
  const entry = { functionName: target.functionName, ...(target.region === undefined ? {} : { region: target.region }) };
  const done = await deps.retrying('rollout.marker', () => deps.markers.readDone());
  if (done !== undefined) return done.value;
  try {
    const decided = await decide(target, entry, deps);
    // A conflict is settled too: a later delivery must not take the other person's change for its own start.
    if (decided.status === 'conflict') return await settle(target, decided, deps);
    if (decided.status !== 'updated' && decided.status !== 'current') return decided;
    if (target.canary === undefined) return await settle(target, decided, deps);
    const canaried = await canary(target, target.canary, deps);
    if ('pending' in canaried) return { ...decided, status: 'pending', reason: canaried.pending };
    return await settle(target, { ...decided, canary: canaried }, deps);
  } catch (error) {
    deps.log.warn('rollout.function.failed', { functionName: target.functionName, region: target.region, error });
    return { ...entry, status: 'failed', reason: deps.log.redact(error instanceof Error ? error.message : String(error)) };
  }
}

async function decide(target: FunctionTarget, entry: Pick<FunctionRollout, 'functionName' | 'region'>, deps: FunctionRolloutDeps): Promise<FunctionRollout> {
  for (let attempt = 1; attempt <= MAX_INTENTS; attempt++) {
    const config = await read(target, deps);
    if (config === undefined) return { ...entry, status: 'missing', reason: `no function ${target.functionName} in this account and region` };
    const newer = newerVersionIn(config.layers, target);
    if (newer !== undefined) {
      // A newer upload's rollout got here first: an older one never moves a function back.
      return {
        ...entry,
        status: 'skipped',
        before: config.layers,
        reason: `already uses version ${newer} of ${target.layerName}, newer than ${target.version}`,
      };
    }
    const after = replaceLayer(config.layers, target.layerName, target.arn) ?? (target.explicit ? [...config.layers, target.arn] : undefined);
    if (after === undefined) {
      return { ...entry, status: 'skipped', reason: `does not use layer ${target.layerName}, and the manifest names it only by a glob` };
    }
    if (after.length > MAX_LAYERS_PER_FUNCTION) {
      return {
        ...entry,
        status: 'refused',
        before: config.layers,
        reason: `would hold ${after.length} layers: FC allows at most ${MAX_LAYERS_PER_FUNCTION} per function`,
      };
    }
    const intent = await deps.retrying('rollout.marker', () =>
      deps.markers.createIntent(attempt, { before: config.layers, after, requestId: deps.requestId, ttlMs: deps.ttlMs }),
    );
    if ('unreadable' in intent) {
      // Not an intent the publisher wrote: it holds nothing up, and the next attempt's is written instead.
      deps.log.warn('rollout.marker.unreadable', { functionName: target.functionName, attempt });
      continue;
    }
    if (intent.created) {
      if (sameLayers(config.layers, after)) return { ...entry, status: 'current', before: config.layers, after };
      return await update(target, entry, intent.value, deps);
    }
    // Another delivery wrote this intent: it has changed the function, or is changing it, or died.
    const { before: theirBefore, after: theirAfter } = intent.value;
    const now = await read(target, deps);
    if (now !== undefined && sameLayers(now.layers, theirAfter)) {
      return { ...entry, status: sameLayers(theirBefore, theirAfter) ? 'current' : 'updated', before: theirBefore, after: theirAfter };
    }
    if (remainingMs(intent.head, intent.value.ttlMs, deps.now()) > 0) {
      if (!(await deps.wait(BUSY_POLL_MS))) return { ...entry, status: 'pending', reason: 'another delivery is changing it' };
      const settled = await deps.retrying('rollout.marker', () => deps.markers.readDone());
      if (settled !== undefined) return settled.value;
      attempt--;
      continue;
    }
    // That delivery's time is over and the function does not have its change: the next intent takes over.
    deps.log.info('rollout.takeover', { functionName: target.functionName, attempt, after: theirAfter });
  }
  throw new Error(`${MAX_INTENTS} attempts at ${target.functionName} without an outcome`);
}

/** Read, compare, write, read again: the write happens only over what the intent says the function had. */
async function update(
  target: FunctionTarget,
  entry: Pick<FunctionRollout, 'functionName' | 'region'>,
  intent: Intent,
  deps: FunctionRolloutDeps,
): Promise<FunctionRollout> {
  const { before, after } = intent;
  const conflict = (now: FunctionConfig | undefined): FunctionRollout => ({
    ...entry,
    status: 'conflict',
    before,
    ...(now === undefined ? {} : { after: now.layers }),
    reason: now === undefined ? 'the function was deleted meanwhile' : 'its layers were changed by someone else meanwhile; left as they are',
  });
  const outcome = await deps.retrying('rollout.update', async (attempt) => {
    // A try that failed (throttled, no answer) may have landed: read it back before trying again.
    const now = await read(target, deps);
    if (now === undefined) return conflict(now);
    if (attempt > 1 && sameLayers(now.layers, after)) return 'written' as const;
    if (!sameLayers(now.layers, before)) return conflict(now);
    await deps.fc.updateLayers(target.functionName, after);
    return 'written' as const;
  });
  if (outcome !== 'written') return outcome;
  const confirmed = await read(target, deps);
  if (confirmed === undefined || !sameLayers(confirmed.layers, after)) {
    return { ...conflict(confirmed), reason: 'updated, then changed again by someone else right after; left as they made it' };
  }
  deps.log.info('rollout.updated', { functionName: target.functionName, region: target.region, before, after });
  return { ...entry, status: 'updated', before, after };
}

function newerVersionIn(layers: readonly string[], target: FunctionTarget): number | undefined {
  return layers.map((arn) => layerOfArn(arn)).find((layer) => layer?.layerName === target.layerName && layer.version > target.version)?.version;
}

function read(target: FunctionTarget, deps: FunctionRolloutDeps): Promise<FunctionConfig | undefined> {
  return deps.retrying('rollout.read', () => deps.fc.get(target.functionName));
}

/** The description that marks a function version as this upload's: how a redelivery finds it again. */
export function canaryDescription(target: Pick<FunctionTarget, 'layerName' | 'version' | 'uploadId'>): string {
  return `${canaryOfLayerVersion(target)}${target.uploadId.slice(0, 12)})`;
}

/** What every upload's canary description of this layer version begins with. */
function canaryOfLayerVersion(target: Pick<FunctionTarget, 'layerName' | 'version'>): string {
  return `layer-publisher canary: ${target.layerName} v${target.version} (upload `;
}

/**
 * Publishes a function version holding the new layer (or finds the one an earlier delivery
 * published), then points `weight` of the alias's traffic at it and the rest where it pointed.
 */
async function canary(target: FunctionTarget, setting: CanarySetting, deps: FunctionRolloutDeps): Promise<CanaryOutcome | Pending> {
  const base: CanaryOutcome = { alias: setting.alias, weight: setting.weight };
  const { fc } = deps;
  try {
    const alias = await deps.retrying('rollout.alias', () => fc.getAlias(target.functionName, setting.alias));
    if (alias === undefined) return { ...base, error: `alias ${setting.alias} does not exist: create it on the version it serves, then upload again` };
    // The alias as it was is recorded before anything moves it, so rollback finds it whatever happens next;
    // its writer alone publishes the version and moves the alias while its invocation lasts.
    const found = { versionId: alias.versionId, additionalVersionWeight: alias.additionalVersionWeight };
    const earlier = await earlierCanary(target, setting, found, deps);
    // Nothing moves, so there is nothing to record or roll back: the earlier upload's records stand.
    if (earlier !== undefined) return { ...base, functionVersion: earlier, before: found };
    const recorded = await deps.retrying('rollout.marker', () => deps.markers.createCanary({ before: found, requestId: deps.requestId, ttlMs: deps.ttlMs }));
    if (!recorded.created && !('unreadable' in recorded)) {
      const theirs = await awaitOtherCanary(deps, recorded);
      if (theirs === 'pending') return { pending: 'another delivery is setting its canary' };
      if (theirs !== undefined) return theirs;
    }
    // An unreadable canary.json records nothing: the alias as found now is what it served before.
    const before = 'unreadable' in recorded ? found : recorded.value.before;
    const description = canaryDescription(target);
    const published =
      (await deps.retrying('rollout.versions', () => fc.versions(target.functionName))).find((version) => version.description === description) ??
      (await deps.retrying('rollout.publishVersion', async (attempt) => {
        // A publish without an answer may have made the version: look before publishing again.
        const found = attempt === 1 ? undefined : (await fc.versions(target.functionName)).find((version) => version.description === description);
        return found ?? fc.publishVersion(target.functionName, description);
      }));
    const after = { versionId: before.versionId, additionalVersionWeight: { [published.versionId]: setting.weight } };
    const moved = await deps.retrying('rollout.alias', async () => {
      const now = await fc.getAlias(target.functionName, setting.alias);
      if (now !== undefined && now.versionId === after.versionId && sameWeights(now.additionalVersionWeight, after.additionalVersionWeight)) return now;
      if (now === undefined || now.versionId !== before.versionId || !sameWeights(now.additionalVersionWeight, before.additionalVersionWeight))
        return undefined;
      return fc.putAlias(target.functionName, setting.alias, after);
    });
    if (moved === undefined)
      return { ...base, functionVersion: published.versionId, before, error: `alias ${setting.alias} was changed by someone else meanwhile; left as it is` };
    deps.log.info('rollout.canary', { functionName: target.functionName, alias: setting.alias, functionVersion: published.versionId, weight: setting.weight });
    return { ...base, functionVersion: published.versionId, before, after };
  } catch (error) {
    const message = deps.log.redact(error instanceof Error ? error.message : String(error));
    // FC did not answer in time (5xx, throttled, no time left): not settled, so a redelivery finishes the canary.
    if (error instanceof PublisherError && error.retryable) return { pending: `its canary is not set yet (${message}); a redelivery finishes it` };
    return { ...base, error: message };
  }
}

/**
 * The function version an earlier upload of the same layer version gave the alias as its canary, at
 * this weight: the same bytes uploaded again (another upload in the ledger) roll out to a function
 * already moved, and publishing a second version to send the same share to would only bury the
 * first upload's canary under one rollback cannot undo. This upload's own canary is found by its
 * markers instead, so a redelivery after a crash still records what its first delivery moved.
 */
async function earlierCanary(target: FunctionTarget, setting: CanarySetting, alias: AliasTarget, deps: FunctionRolloutDeps): Promise<string | undefined> {
  const weighted = Object.entries(alias.additionalVersionWeight);
  if (weighted.length !== 1 || weighted[0]![1] !== setting.weight) return undefined;
  const [versionId] = weighted[0]!;
  const versions = await deps.retrying('rollout.versions', () => deps.fc.versions(target.functionName));
  const description = versions.find((version) => version.versionId === versionId)?.description;
  return description?.startsWith(canaryOfLayerVersion(target)) && description !== canaryDescription(target) ? versionId : undefined;
}

/** Why a function's canary is left to a later delivery. */
interface Pending {
  pending: string;
}

/**
 * Another delivery wrote `canary.json`: its outcome once its `done.json` is there, `pending` when
 * this invocation cannot wait that long, undefined once its time is over (this one takes over, and
 * finds the version it published by its description).
 */
async function awaitOtherCanary(deps: FunctionRolloutDeps, marker: Marker<CanaryMarker>): Promise<CanaryOutcome | 'pending' | undefined> {
  let head = marker.head;
  while (remainingMs(head, marker.value.ttlMs, deps.now()) > 0) {
    if (!(await deps.wait(BUSY_POLL_MS))) return 'pending';
    const done = await deps.retrying('rollout.marker', () => deps.markers.readDone());
    if (done?.value.canary !== undefined) return done.value.canary;
    head = (await deps.retrying('rollout.marker', () => deps.markers.readCanary()))?.head ?? head;
  }
  return undefined;
}

export function sameWeights(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The first `done.json` wins; its writer alone writes the audit record, so a change has exactly one. */
async function settle(target: FunctionTarget, outcome: FunctionRollout, deps: FunctionRolloutDeps): Promise<FunctionRollout> {
  const done = await deps.retrying('rollout.marker', () => deps.markers.createDone(outcome));
  // An unreadable done.json is not the first writer's outcome: this delivery's stands, and the
  // record is left to the one that wrote it (it cannot tell whether that one did).
  if ('unreadable' in done) return outcome;
  if (done.created && (outcome.status === 'updated' || outcome.canary?.after !== undefined)) {
    await deps.audit({
      layerName: target.layerName,
      version: target.version,
      arn: target.arn,
      uploadId: target.uploadId,
      ...outcome,
    });
  }
  return done.value;
}
