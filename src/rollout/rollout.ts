import { writeAuditRecord } from '../audit/records';
import { type AllowRule, globToRegExp } from '../config';
import type { FunctionsApi } from '../fc/functions';
import type { Logger } from '../log/logger';
import type { ObjectStore } from '../oss/store';
import { sameEtag } from '../oss/store';
import type { Deadline } from '../publish/deadline';
import type { PublishResult, RegionResult } from '../publish/result';
import { readResult, writeResultDocument } from '../result/document';
import { type FunctionTarget, rollOutFunction } from './function-rollout';
import { type CanarySetting, type RolloutSetting, rolloutPatternsFor } from './manifest-fields';
import { FunctionMarkers } from './markers';
import type { FunctionRollout, RolloutOutcome } from './outcome';

/** The settled decision a rollout follows: where the upload's version is, and what the manifest asks. */
export interface RolloutDecision {
  result: PublishResult;
  uploadId: string;
  rollout: RolloutSetting | undefined;
  canary: CanarySetting | undefined;
  /** The trigger's region: the key of the home region in a per-region `rollout`. */
  homeRegion: string;
}

export interface RolloutDeps {
  store: ObjectStore;
  auditPrefix: string;
  resultKey: string;
  /** ROLLOUT_FUNCTIONS. */
  allowed: AllowRule[];
  /** The function API of a region (undefined: the home region), or why there is none (the API in use). */
  functions: (region: string | undefined) => FunctionsApi | string;
  deadline: Deadline;
  /** Kept back for the result's rewrite: a function is started only with more time than this left. */
  reserveMs: number;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  log: Logger;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  ttlMs: number;
  requestId: string;
}

/** Where a version of the upload stands: the home region (`region` undefined) or another. */
interface Site {
  region: string | undefined;
  regionId: string;
  /** The region its functions' entries name: every region's with `REGIONS`, none without. */
  shown: string | undefined;
  version: number;
  arn: string;
}

const GLOB_CHARACTERS = /[*?]/;

/**
 * The rollout follow-up (docs/rollout.md): runs once the decision is settled and its result
 * written, moves the functions the manifest names and ROLLOUT_FUNCTIONS allows to the version, and
 * adds `rollout` to the result. It never fails the publish: every failure is the function's entry.
 */
export async function rollOut(decision: RolloutDecision, deps: RolloutDeps): Promise<RolloutOutcome | undefined> {
  const { result } = decision;
  if (decision.rollout === undefined || result.layerName === undefined || (result.status !== 'published' && result.status !== 'unchanged')) return undefined;
  const outcome: RolloutOutcome = { layerName: result.layerName, functions: [] };
  if ((await resultInBucket(decision, deps)) === undefined) {
    // A newer upload replaced this one: its own rollout moves the functions.
    deps.log.info('rollout.skipped', { layerName: result.layerName, reason: 'the result in the bucket names another upload' });
    return undefined;
  }
  try {
    for (const site of sitesOf(decision)) {
      const fc = deps.functions(site.region);
      if (typeof fc === 'string') {
        outcome.error = fc;
        continue;
      }
      for (const target of await targetsOf(decision, site, fc, deps, outcome)) {
        if (deps.deadline.remainingMs() < 2 * deps.reserveMs) {
          outcome.functions.push({ ...where(target), status: 'pending', reason: 'too little of the invocation\u2019s time left; a redelivery finishes it' });
          continue;
        }
        outcome.functions.push(await rollOutFunction(target, functionDeps(decision, target, fc, deps)));
      }
    }
    outcome.functions.push(...unpublishedRegions(decision));
  } catch (error) {
    outcome.error = deps.log.redact(error instanceof Error ? error.message : String(error));
    deps.log.warn('rollout.failed', { layerName: result.layerName, error });
  }
  deps.log.info('rollout.done', { layerName: outcome.layerName, functions: outcome.functions.map((f) => `${f.functionName}:${f.status}`) });
  await recordInResult(decision, outcome, deps);
  return outcome;
}

function where(target: Pick<FunctionTarget, 'functionName' | 'region'>): Pick<FunctionRollout, 'functionName' | 'region'> {
  return { functionName: target.functionName, ...(target.region === undefined ? {} : { region: target.region }) };
}

function sitesOf(decision: RolloutDecision): Site[] {
  const { result, homeRegion } = decision;
  const sites: Site[] = [];
  const shownHome = result.regions === undefined ? undefined : homeRegion;
  if (result.version !== undefined && result.arn !== undefined)
    sites.push({ region: undefined, regionId: homeRegion, shown: shownHome, version: result.version, arn: result.arn });
  for (const [region, entry] of Object.entries(result.regions ?? {})) {
    if (entry.home || !publishedIn(entry)) continue;
    sites.push({ region, regionId: region, shown: region, version: entry.version, arn: entry.arn });
  }
  return sites;
}

function publishedIn(entry: RegionResult): entry is RegionResult & { version: number; arn: string } {
  return entry.status !== 'failed' && entry.version !== undefined && entry.arn !== undefined;
}

/**
 * The functions named for another region whose publish failed for good: nothing moves there, and
 * each name is `failed` with the region's error. (A region still unfinished holds back the whole
 * decision, and the rollout with it, until a delivery settles it.)
 */
function unpublishedRegions(decision: RolloutDecision): FunctionRollout[] {
  return Object.entries(decision.result.regions ?? {})
    .filter(([, entry]) => !entry.home && !publishedIn(entry))
    .flatMap(([region, entry]) =>
      rolloutPatternsFor(decision.rollout ?? [], region).map((functionName) => ({
        functionName,
        region,
        status: 'failed' as const,
        reason: `the layer could not be published in ${region}${entry.error === undefined ? '' : ` (${entry.error.code})`}: nothing moves there`,
      })),
    );
}

/**
 * The functions of one region the manifest names: a name as written (moved even when it does not use
 * the layer yet), a glob expanded by ListFunctions. One ROLLOUT_FUNCTIONS does not hand over is named
 * in `outcome` and left alone.
 */
async function targetsOf(decision: RolloutDecision, site: Site, fc: FunctionsApi, deps: RolloutDeps, outcome: RolloutOutcome): Promise<FunctionTarget[]> {
  const patterns = rolloutPatternsFor(decision.rollout ?? [], site.regionId);
  const targets = new Map<string, FunctionTarget>();
  const zipKey = decision.result.source.key;
  const rules = deps.allowed.filter((rule) => zipKey.startsWith(rule.keyPrefix));
  const target = (functionName: string, explicit: boolean): FunctionTarget => ({
    functionName,
    region: site.shown,
    explicit,
    layerName: decision.result.layerName ?? '',
    version: site.version,
    arn: site.arn,
    uploadId: decision.uploadId,
    canary: decision.canary,
  });
  const notAllowed = new Set<string>();
  const consider = (functionName: string, explicit: boolean) => {
    if (targets.has(functionName) && !explicit) return;
    if (!rules.some((rule) => rule.pattern.test(functionName))) {
      notAllowed.add(functionName);
      return;
    }
    targets.set(functionName, target(functionName, explicit || targets.get(functionName)?.explicit === true));
  };
  for (const pattern of patterns) {
    if (!GLOB_CHARACTERS.test(pattern)) {
      consider(pattern, true);
      continue;
    }
    // FC lists by prefix: the glob's literal start keeps the listing short.
    const literal = pattern.slice(0, pattern.search(GLOB_CHARACTERS));
    const matching = (await deps.retrying('rollout.list', () => fc.list(literal)))
      .map((f) => f.functionName)
      .filter((name) => globToRegExp(pattern).test(name));
    if (matching.length === 0) outcome.functions.push({ ...where(target(pattern, false)), status: 'missing', reason: `no function matches ${pattern}` });
    for (const name of matching) consider(name, false);
  }
  for (const functionName of notAllowed) {
    outcome.functions.push({
      ...where(target(functionName, false)),
      status: 'notAllowed',
      reason: `ROLLOUT_FUNCTIONS does not allow ${functionName} for ${zipKey}${deps.allowed.length === 0 ? ' (ROLLOUT_FUNCTIONS is not set: no function may be moved)' : ''}`,
    });
  }
  return [...targets.values()];
}

function functionDeps(decision: RolloutDecision, target: FunctionTarget, fc: FunctionsApi, deps: RolloutDeps) {
  const { result } = decision;
  return {
    fc,
    markers: FunctionMarkers.of(deps.store, deps.auditPrefix, decision.uploadId, target.region ?? decision.homeRegion, target.functionName),
    retrying: deps.retrying,
    log: deps.log,
    now: deps.now,
    ttlMs: deps.ttlMs,
    requestId: deps.requestId,
    wait: async (ms: number) => {
      if (deps.deadline.remainingMs() - ms < 2 * deps.reserveMs) return false;
      await deps.sleep(ms);
      return true;
    },
    audit: async (record: Record<string, unknown>) => {
      const fields = {
        ...record,
        source: { bucket: result.source.bucket, key: result.source.key },
        ...(result.provenance === undefined ? {} : { provenance: result.provenance }),
        requestId: deps.requestId,
        finishedAt: deps.now().toISOString(),
      };
      // The change happened either way; a lost record is logged, and the result still lists it.
      await deps
        .retrying('audit.write', () => writeAuditRecord(deps.store, deps.auditPrefix, 'rollout', fields))
        .catch((error: unknown) => deps.log.warn('audit.write.failed', { kind: 'rollout', functionName: target.functionName, error }));
    },
  };
}

/**
 * `rollout` added to the result in the bucket, when that result is still this upload's (the same zip
 * and manifest): a newer upload's result never gets an older one's rollout.
 */
async function recordInResult(decision: RolloutDecision, outcome: RolloutOutcome, deps: RolloutDeps): Promise<void> {
  const current = await resultInBucket(decision, deps);
  if (current === undefined) {
    deps.log.info('rollout.result.skipped', { reason: 'the result in the bucket names another upload' });
    return;
  }
  await deps
    .retrying('result.write', () => writeResultDocument(deps.store, deps.resultKey, { ...current, rollout: outcome }))
    .catch((error: unknown) => deps.log.warn('rollout.result.write.failed', { error }));
}

/** The result in the bucket, when it is this upload's (the same zip and manifest versions). */
async function resultInBucket(decision: RolloutDecision, deps: RolloutDeps): Promise<PublishResult | undefined> {
  const current = await deps.retrying('rollout.result', () => readResult(deps.store, deps.resultKey)).catch(() => undefined);
  if (current === undefined || current === 'unreadable') return undefined;
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && sameEtag(a, b);
  const { source, manifest } = decision.result;
  return same(current.source.etag, source.etag) && same(current.manifest?.etag, manifest?.etag) ? current : undefined;
}
