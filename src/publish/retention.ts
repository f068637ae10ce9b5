import type { RetentionDone } from '../audit/ledger';
import { writeAuditRecord } from '../audit/records';
import type { FunctionsApi } from '../fc/functions';
import type { LayerApi, LayerUse } from '../fc/layers';
import { type LayerConsumer, layerConsumers } from '../rollout/consumers';
import type { Logger } from '../log/logger';
import type { ObjectStore } from '../oss/store';
import type { Deadline } from './deadline';
import { readResult, type PublishResult, type RetentionOutcome } from '../result/document';

/** The manifest's `retain`: a count, or a count with `dryRun`. */
export type RetainSetting = number | { keep: number; dryRun?: boolean | undefined };

export interface RetentionDeps {
  layers: () => LayerApi;
  store: ObjectStore;
  auditPrefix: string;
  resultKey: string;
  deadline: Deadline;
  /** Kept back for the result's rewrite: retention starts only with more time than this left. */
  reserveMs: number;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  log: Logger;
  now: () => Date;
  /** Another region's layer API, for the versions the result's `regions` names. */
  regionLayers?: ((region: string) => () => LayerApi) | undefined;
  /**
   * FC 3.0's function API of a region (undefined: home), or why there is none: published function
   * versions and aliases keep the versions they use too (docs/rollout.md).
   */
  functions?: ((region: string | undefined) => FunctionsApi | string) | undefined;
}

/** Where retention acts: the home region (`region` undefined) or another, with the version published there. */
interface RetentionSite {
  region: string | undefined;
  layers: () => LayerApi;
  published: number;
}

/**
 * Keeps the `keep` newest versions of a layer just published, and deletes older ones, except the
 * version just published and any version a function still names. Runs only after the result is in
 * the bucket, and only while that result is still this invocation's: a newer upload's result is
 * never followed by deletions it did not ask for. Every deletion and every version kept for a
 * function is an audit record; a failure is recorded in the result, never a failed publish.
 * Resolves with what it did where, for the upload's ledger (the result is rewritten from there),
 * or undefined when it did not run.
 */
export async function retainVersions(written: PublishResult, setting: RetainSetting | undefined, deps: RetentionDeps): Promise<RetentionDone | undefined> {
  // The publish is over and recorded: nothing here may turn it into a failure, a bug included.
  return retain(written, setting, deps).catch((error: unknown) => {
    deps.log.error('retention.unexpected', { error });
    return undefined;
  });
}

async function retain(written: PublishResult, setting: RetainSetting | undefined, deps: RetentionDeps): Promise<RetentionDone | undefined> {
  const { layerName } = written;
  const sites = sitesOf(written, deps);
  if (setting === undefined || layerName === undefined || sites.length === 0) return undefined;
  const keep = typeof setting === 'number' ? setting : setting.keep;
  const dryRun = typeof setting === 'object' && setting.dryRun === true;
  const current = await currentResult(written, deps);
  if (!current) {
    deps.log.info('retention.skipped', { layerName, reason: 'the result in the bucket is no longer this decision\u2019s' });
    return undefined;
  }
  const outcomes = new Map<string | undefined, RetentionOutcome>();
  for (const site of sites) {
    const outcome: RetentionOutcome = { keep, ...(dryRun ? { dryRun: true as const } : {}), kept: [], deleted: [], failed: [] };
    try {
      await decide(outcome, { layerName, dryRun, site }, written, deps);
    } catch (error) {
      outcome.error = deps.log.redact(error instanceof Error ? error.message : String(error));
      deps.log.warn('retention.failed', { layerName, region: site.region, error });
    }
    deps.log.info('retention.done', { layerName, region: site.region, ...outcome });
    outcomes.set(site.region, outcome);
  }
  const regions: RetentionDone['regions'] = {};
  for (const [region, outcome] of outcomes) if (region !== undefined) regions[region] = outcome;
  return { home: outcomes.get(undefined), regions };
}

/** The home region when it published now, and every other region that did (retention follows a publish). */
function sitesOf(written: PublishResult, deps: RetentionDeps): RetentionSite[] {
  const sites: RetentionSite[] = [];
  if (written.status === 'published' && written.version !== undefined) sites.push({ region: undefined, layers: deps.layers, published: written.version });
  for (const [region, entry] of Object.entries(written.regions ?? {})) {
    if (entry.home || entry.status !== 'published' || entry.version === undefined || deps.regionLayers === undefined) continue;
    sites.push({ region, layers: deps.regionLayers(region), published: entry.version });
  }
  return sites;
}

async function decide(
  outcome: RetentionOutcome,
  target: { layerName: string; dryRun: boolean; site: RetentionSite },
  written: PublishResult,
  deps: RetentionDeps,
): Promise<void> {
  const { layerName, dryRun, site } = target;
  const { published, layers, region } = site;
  if (deps.deadline.remainingMs() < deps.reserveMs) throw new Error('retention skipped: too little of the invocation\u2019s time left');
  const versions = await deps.retrying('retention.versions', () => layers().versionsFrom(layerName, 1));
  // Newest first: everything past the first `keep` is older than what is kept.
  const older = versions
    .map((v) => v.version)
    .sort((a, b) => b - a)
    .slice(outcome.keep)
    .filter((v) => v !== published);
  if (older.length === 0) return;
  // Deleting without knowing which versions functions use could break them: no listing, no deletion.
  const uses = await deps.retrying('retention.functions', () => layers().layersInUse());
  const users = usersOf([...uses, ...(await versionUses(deps, region))], layerName);
  for (const version of older.sort((a, b) => a - b)) {
    const functions = users.get(version);
    if (functions !== undefined) {
      outcome.kept.push(version);
      await audit(deps, written, 'kept', { version, reason: `in use by ${functions.join(', ')}`, dryRun, region, published });
      continue;
    }
    const reason = `older than the ${outcome.keep} newest version${outcome.keep === 1 ? '' : 's'}`;
    if (!dryRun) {
      try {
        await deps.retrying('retention.delete', () => layers().delete(layerName, version));
      } catch (error) {
        outcome.failed.push({ version, error: deps.log.redact(error instanceof Error ? error.message : String(error)) });
        deps.log.warn('retention.delete.failed', { layerName, region, version, error });
        continue;
      }
    }
    outcome.deleted.push(version);
    await audit(deps, written, 'deleted', { version, reason, dryRun, region, published });
  }
}

/** What function versions and aliases use, each named as the reason records it ("api version 3", "api alias prod"). */
async function versionUses(deps: RetentionDeps, region: string | undefined): Promise<LayerUse[]> {
  const fc = deps.functions?.(region);
  if (fc === undefined || typeof fc === 'string') return [];
  const checkTime = () => {
    if (deps.deadline.remainingMs() < deps.reserveMs)
      throw new Error('retention skipped: too little of the invocation\u2019s time left to list function versions and aliases');
  };
  const consumers = await layerConsumers(fc, deps.retrying, checkTime);
  const nameOf = (consumer: LayerConsumer) =>
    consumer.kind === 'alias' ? `${consumer.functionName} alias ${consumer.alias}` : `${consumer.functionName} version ${consumer.functionVersion}`;
  // A function's current configuration is already in layersInUse.
  return consumers
    .filter((consumer) => consumer.kind !== 'function')
    .map((consumer) => ({ functionName: nameOf(consumer), layerName: consumer.layerName, version: consumer.version }));
}

function usersOf(uses: LayerUse[], layerName: string): Map<number, string[]> {
  const users = new Map<number, string[]>();
  for (const use of uses) {
    if (use.layerName !== layerName) continue;
    const named = users.get(use.version) ?? [];
    if (!named.includes(use.functionName)) users.set(use.version, [...named, use.functionName]);
  }
  return users;
}

/** Whether the result at the result key is this decision's (same request and finish time). */
async function currentResult(written: PublishResult, deps: RetentionDeps): Promise<boolean> {
  const there = await deps.retrying('retention.result', () => readResult(deps.store, deps.resultKey)).catch(() => undefined);
  return typeof there === 'object' && there.requestId === written.requestId && there.finishedAt === written.finishedAt;
}

async function audit(
  deps: RetentionDeps,
  written: PublishResult,
  kind: 'deleted' | 'kept',
  fields: { version: number; reason: string; dryRun: boolean; region: string | undefined; published: number },
): Promise<void> {
  const record = {
    status: kind,
    layerName: written.layerName,
    ...(fields.region === undefined ? {} : { region: fields.region }),
    version: fields.version,
    reason: fields.reason,
    ...(fields.dryRun ? { dryRun: true } : {}),
    // The publish that decided it: its version, its zip, who uploaded it.
    publishedVersion: fields.published,
    source: { bucket: written.source.bucket, key: written.source.key },
    ...(written.provenance === undefined ? {} : { provenance: written.provenance }),
    requestId: written.requestId,
    finishedAt: deps.now().toISOString(),
  };
  // The deletion happened either way; a lost record is logged, and the result still lists it.
  await deps
    .retrying('audit.write', () => writeAuditRecord(deps.store, deps.auditPrefix, kind, record))
    .catch((error: unknown) => deps.log.warn('audit.write.failed', { kind, version: fields.version, error }));
}
