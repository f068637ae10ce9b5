import { recordsFolder } from '../audit/layout';
import * as z from 'zod/mini';
import { auditRecordBody, auditRecordKey } from '../audit/records';
import type { AliasTarget, FunctionsApi } from '../fc/functions';
import { formatTable } from '../console/format';
import { LAYER_NAME } from '../manifest/manifest';
import { consumerLabel, layerConsumers, type LayerConsumer } from '../rollout/consumers';
import { isLayer, replaceLayer, sameLayers } from '../rollout/layers';
import { sameWeights } from '../rollout/function-rollout';
import { stringOf } from '../report/trail';
import { printable, readAll, TRAIL_HELP, TRAIL_OPTIONS, trailLocation } from './audit';
import { ossFailure } from './failures';
import { accessKeyIdOf, FC_HELP, FC_OPTIONS, fcFunctionsApi, fcLayerApi, homeRegionOf, inRegion, otherRegions } from './fc';
import { CliError, type CliIo, EXIT_FAILED, EXIT_OK } from '../console/io';
import { ossClient } from './oss';
import { listKeys } from './results';

type Values = Record<string, string | boolean | undefined>;

/** A rollout's audit record (src/rollout/function-rollout.ts writes them), as far as promote and rollback read it. */
const aliasTargetSchema = z.object({ versionId: z.string(), additionalVersionWeight: z.record(z.string(), z.number()) });
const rolloutRecordSchema = z.object({
  kind: z.literal('rollout'),
  layerName: z.string(),
  version: z.number(),
  arn: z.string(),
  uploadId: z.string(),
  functionName: z.string(),
  region: z.optional(z.string()),
  status: z.string(),
  before: z.optional(z.array(z.string())),
  after: z.optional(z.array(z.string())),
  canary: z.optional(
    z.object({ alias: z.string(), functionVersion: z.optional(z.string()), before: z.optional(aliasTargetSchema), after: z.optional(aliasTargetSchema) }),
  ),
  finishedAt: z.string(),
});
type RolloutRecord = z.infer<typeof rolloutRecordSchema>;

/** One change promote or rollback makes (or, with --dry-run, would make), or why it leaves a function alone. */
export interface PlannedChange {
  /** The region the function is in. */
  region: string;
  functionName: string;
  what: 'layers' | 'alias';
  alias?: string;
  before: string[] | AliasTarget;
  after?: string[] | AliasTarget;
  /** Set when nothing is changed: the function or alias is no longer as the rollout left it. */
  skipped?: string;
}

export interface ChangeReport {
  command: 'promote' | 'rollback';
  layerName: string;
  /** The rolled-out version, and the upload whose rollout this acts on. */
  version: number;
  uploadId: string;
  actor: string;
  dryRun: boolean;
  changes: PlannedChange[];
}

const CHANGE_OPTIONS = {
  ...TRAIL_OPTIONS,
  ...FC_OPTIONS,
  'dry-run': { type: 'boolean', default: false },
  actor: { type: 'string' },
} as const;

const CHANGE_HELP = `${TRAIL_HELP}${FC_HELP}  --dry-run             print what would change, change nothing
  --actor <name>        who runs it, for the audit record (default: the access key id)
  REGIONS               acts in every region the last rollout touched: the others on their
                        REGION_FC_ENDPOINTS entries (as the function has them), else their public endpoints
`;

/** The records of the last rollout of `layerName` in the trail (its newest upload's), in every region it touched. */
async function lastRollout(values: Values, io: CliIo, layerName: string): Promise<RolloutRecord[]> {
  const location = trailLocation(values, io.env);
  const client = ossClient({ bucket: location.bucket, endpoint: location.endpoint, region: location.region }, io.env);
  const records = (await readAll(client, await listKeys(client, recordsFolder(location.auditPrefix))))
    .map(([, body]) => rolloutRecordSchema.safeParse(body).data)
    .filter((record): record is RolloutRecord => record !== undefined && record.layerName === layerName);
  const newest = records.reduce<RolloutRecord | undefined>(
    (latest, record) => (latest === undefined || record.finishedAt > latest.finishedAt ? record : latest),
    undefined,
  );
  if (newest === undefined) throw new CliError(`no rollout of layer ${layerName} in the audit trail under ${recordsFolder(location.auditPrefix)}`);
  return records.filter((record) => record.uploadId === newest.uploadId);
}

/** The records by region, the home region first: a record without a region is the home region's (a rollout without REGIONS). */
function byRegion(records: readonly RolloutRecord[], home: string): Map<string, RolloutRecord[]> {
  const regions = new Map<string, RolloutRecord[]>([[home, []]]);
  for (const record of records) {
    const region = record.region ?? home;
    regions.set(region, [...(regions.get(region) ?? []), record]);
  }
  if (regions.get(home)?.length === 0) regions.delete(home);
  return regions;
}

/** The function API of one region, as the flags and REGIONS reach it. */
function functionsIn(values: Values, io: CliIo, region: string): FunctionsApi {
  const flags = inRegion(values, io.env, region);
  return fcFunctionsApi(flags.values, flags.env);
}

function layerArgument(layer: string): string {
  if (!LAYER_NAME.test(layer)) throw new CliError(`<layer> must be a layer name (letters, digits, _ and -), got ${JSON.stringify(layer)}`);
  return layer;
}

/** promote: each alias the last rollout gave a canary serves the canary's version fully. */
async function planPromote(fc: FunctionsApi, region: string, records: RolloutRecord[]): Promise<PlannedChange[]> {
  const changes: PlannedChange[] = [];
  for (const record of records) {
    const canary = record.canary;
    if (canary?.after === undefined || canary.functionVersion === undefined) continue;
    const now = await fc.getAlias(record.functionName, canary.alias);
    const base = { region, functionName: record.functionName, what: 'alias' as const, alias: canary.alias, before: now ?? canary.after };
    const full = { versionId: canary.functionVersion, additionalVersionWeight: {} };
    if (now === undefined) changes.push({ ...base, skipped: 'the alias no longer exists' });
    else if (sameTarget(now, full)) changes.push({ ...base, skipped: 'already promoted' });
    else if (!sameTarget(now, canary.after)) changes.push({ ...base, skipped: 'changed since the rollout; left as it is' });
    else changes.push({ ...base, before: targetOf(now), after: full });
  }
  return changes;
}

/** rollback: each function gets back the layer version it had, each alias what it served; other changes are kept. */
async function planRollback(fc: FunctionsApi, region: string, records: RolloutRecord[]): Promise<PlannedChange[]> {
  const changes: PlannedChange[] = [];
  for (const record of records) {
    const config = await fc.get(record.functionName);
    if (record.status === 'updated' && record.before !== undefined) {
      const base = { region, functionName: record.functionName, what: 'layers' as const, before: config?.layers ?? [] };
      const had = record.before.find((arn) => isLayer(arn, record.layerName));
      if (config === undefined) changes.push({ ...base, skipped: 'the function no longer exists' });
      else if (!config.layers.includes(record.arn)) changes.push({ ...base, skipped: `no longer uses ${record.arn}; left as it is` });
      else {
        const after =
          had === undefined ? config.layers.filter((arn) => arn !== record.arn) : (replaceLayer(config.layers, record.layerName, had) ?? config.layers);
        changes.push(sameLayers(after, config.layers) ? { ...base, skipped: 'already as before' } : { ...base, after });
      }
    }
    const canary = record.canary;
    if (canary?.before !== undefined && canary.after !== undefined && canary.functionVersion !== undefined) {
      const now = await fc.getAlias(record.functionName, canary.alias);
      const base = { region, functionName: record.functionName, what: 'alias' as const, alias: canary.alias, before: now ?? canary.before };
      const promoted = { versionId: canary.functionVersion, additionalVersionWeight: {} };
      if (now === undefined) changes.push({ ...base, skipped: 'the alias no longer exists' });
      else if (sameTarget(now, canary.before)) changes.push({ ...base, skipped: 'already as before' });
      else if (!sameTarget(now, canary.after) && !sameTarget(now, promoted)) changes.push({ ...base, skipped: 'changed since the rollout; left as it is' });
      else changes.push({ ...base, before: targetOf(now), after: canary.before });
    }
  }
  return changes;
}

function targetOf(alias: AliasTarget): AliasTarget {
  return { versionId: alias.versionId, additionalVersionWeight: alias.additionalVersionWeight };
}

function sameTarget(a: AliasTarget, b: AliasTarget): boolean {
  return a.versionId === b.versionId && sameWeights(a.additionalVersionWeight, b.additionalVersionWeight);
}

async function runChange(command: ChangeReport['command'], values: Values, layer: string, io: CliIo): Promise<number> {
  const layerName = layerArgument(layer);
  const records = await lastRollout(values, io, layerName);
  const changes: PlannedChange[] = [];
  for (const [region, recorded] of byRegion(records, homeRegionOf(values, io.env))) {
    const fc = functionsIn(values, io, region);
    changes.push(...(command === 'promote' ? await planPromote(fc, region, recorded) : await planRollback(fc, region, recorded)));
  }
  const first = records[0]!;
  const report: ChangeReport = {
    command,
    layerName,
    version: first.version,
    uploadId: first.uploadId,
    // Who ran it: a name given, or the key's id; never its secret.
    actor: stringOf(values.actor) ?? `access key ${accessKeyIdOf(io.env)}`,
    dryRun: values['dry-run'] === true,
    changes,
  };
  if (!report.dryRun) await apply(report, values, io);
  io.out(`${values.json ? JSON.stringify(report) : describeChanges(report)}\n`);
  return EXIT_OK;
}

/** Each change made, then its audit record: one per function or alias, with who ran the command. */
async function apply(report: ChangeReport, values: Values, io: CliIo): Promise<void> {
  const location = trailLocation(values, io.env);
  const client = ossClient({ bucket: location.bucket, endpoint: location.endpoint, region: location.region }, io.env);
  for (const change of report.changes) {
    if (change.skipped !== undefined || change.after === undefined) continue;
    const fc = functionsIn(values, io, change.region);
    if (change.what === 'layers') await fc.updateLayers(change.functionName, change.after as string[]);
    else await fc.putAlias(change.functionName, change.alias ?? '', change.after as AliasTarget);
    const finishedAt = new Date().toISOString();
    const key = auditRecordKey(location.auditPrefix, finishedAt);
    const { command, layerName, version, uploadId, actor } = report;
    const body = auditRecordBody(command, { status: command, layerName, version, uploadId, actor, ...change, finishedAt });
    await client.put(key, Buffer.from(body), { headers: { 'Content-Type': 'application/json', 'x-oss-forbid-overwrite': 'true' } }).catch((error: unknown) => {
      throw ossFailure(client, `recording the ${command} of ${change.functionName} at ${key}`, error);
    });
  }
}

function describeChanges(report: ChangeReport): string {
  const shown = (value: string[] | AliasTarget | undefined): string => {
    if (value === undefined) return '-';
    if (Array.isArray(value)) return value.join(', ') || '(no layers)';
    const canaries = Object.entries(value.additionalVersionWeight).map(([version, weight]) => ` + ${weight} to version ${version}`);
    return `version ${value.versionId}${canaries.join('')}`;
  };
  const line = (change: PlannedChange) => {
    const subject = change.what === 'alias' ? `${change.functionName} alias ${change.alias}` : `${change.functionName} layers`;
    if (change.skipped !== undefined) return `    ${printable(subject)}: not changed: ${change.skipped}`;
    return `    ${printable(subject)}: ${shown(change.before)} -> ${shown(change.after)}`;
  };
  const regions = [...new Set(report.changes.map((change) => change.region))];
  const lines = regions.flatMap((region) => [`  in ${region}:`, ...report.changes.filter((change) => change.region === region).map(line)]);
  const verb = report.dryRun ? 'would change' : 'changed';
  const head = `${report.command} ${report.layerName} (the rollout of version ${report.version}) as ${printable(report.actor)}: ${report.dryRun ? 'dry run, ' : ''}${verb}:`;
  return [head, ...(lines.length === 0 ? ['  nothing: the rollout changed no alias'] : lines)].join('\n');
}

export const promoteCommand = {
  help: `Usage: layer-publisher promote <layer> --bucket <b> [--dry-run] [--actor <name>] [--json]

Moves every alias the last rollout of <layer> gave a canary fully to the canary's function version,
when the alias still is as the rollout left it. Prints each change; asks nothing. Exit 0.
${CHANGE_HELP}`,
  options: CHANGE_OPTIONS,
  positionals: 1,
  run: (values: Values, [layer = '']: string[], io: CliIo) => runChange('promote', values, layer, io),
};

export const rollbackCommand = {
  help: `Usage: layer-publisher rollback <layer> --bucket <b> [--dry-run] [--actor <name>] [--json]

Puts every function and alias the last rollout of <layer> changed back where its audit records say
they were: the function's earlier version of the layer (other layers as they are now), the alias's
version and weights. A function or alias changed since is left alone and named. Exit 0.
${CHANGE_HELP}`,
  options: CHANGE_OPTIONS,
  positionals: 1,
  run: (values: Values, [layer = '']: string[], io: CliIo) => runChange('rollback', values, layer, io),
};

export interface ConsumerRow extends LayerConsumer {
  /** The region the function is in. */
  region: string;
  /** The layer's newest version in Function Compute, in that region. */
  newest: number | undefined;
  behind: boolean;
}

export const consumersCommand = {
  help: `Usage: layer-publisher consumers [--layer <name>] [--fail-behind] [--json]

Which functions, function versions and aliases use which version of each layer (FC 3.0), in the
home region and every region of REGIONS, and which are behind the layer's newest version there.
Exit 0, or 1 with --fail-behind when any is.
  --region <id>         the home region, e.g. cn-hangzhou (default: ALIBABA_CLOUD_REGION or FC_REGION)
  --layer <name>        only this layer
  --fail-behind         exit 1 when anything uses an older version than the newest
  REGIONS               the other regions, as the function has them; REGION_FC_ENDPOINTS their endpoints
${FC_HELP}`,
  options: { ...FC_OPTIONS, region: { type: 'string' }, layer: { type: 'string' }, 'fail-behind': { type: 'boolean', default: false } } as const,
  positionals: 0,
  async run(values: Values, _positionals: string[], io: CliIo): Promise<number> {
    const layer = stringOf(values.layer);
    if (layer !== undefined) layerArgument(layer);
    const regions = [homeRegionOf(values, io.env), ...otherRegions(io.env).map((other) => other.region)];
    const rows: ConsumerRow[] = [];
    for (const region of regions) rows.push(...(await consumersIn(values, io, region, layer)));
    io.out(`${values.json ? JSON.stringify(rows) : consumersTable(rows, regions.length > 1)}\n`);
    return values['fail-behind'] === true && rows.some((row) => row.behind) ? EXIT_FAILED : EXIT_OK;
  },
};

async function consumersIn(values: Values, io: CliIo, region: string, layer: string | undefined): Promise<ConsumerRow[]> {
  const flags = inRegion(values, io.env, region);
  const consumers = (await layerConsumers(fcFunctionsApi(flags.values, flags.env), (_step, operation) => operation())).filter(
    (c) => layer === undefined || c.layerName === layer,
  );
  const layers = fcLayerApi(flags.values, flags.env);
  const newest = new Map<string, number | undefined>();
  for (const name of new Set(consumers.map((c) => c.layerName))) newest.set(name, (await layers.versionsFrom(name, 1))[0]?.version);
  return consumers
    .map((c) => ({ ...c, region, newest: newest.get(c.layerName), behind: (newest.get(c.layerName) ?? 0) > c.version }))
    .sort((a, b) => a.layerName.localeCompare(b.layerName) || b.version - a.version || a.functionName.localeCompare(b.functionName));
}

function consumersTable(rows: readonly ConsumerRow[], withRegion: boolean): string {
  if (rows.length === 0) return 'No function uses these layers.';
  return formatTable(
    [...(withRegion ? ['region'] : []), 'layer', 'version', 'newest', 'used by', 'behind'],
    rows.map((row) => [
      ...(withRegion ? [row.region] : []),
      printable(row.layerName),
      String(row.version),
      row.newest === undefined ? '-' : String(row.newest),
      printable(consumerLabel(row)),
      row.behind ? 'behind' : '',
    ]),
  );
}
