import type { OssEventRecord } from '../emulator';
import type { PublishResult, SummaryEntry } from '../publish/result';
import { type TableOptions, formatBytes, formatRate, formatTable } from '../console/format';
import type { InvocationOutcome } from './invoker';
import type { FailedLayer, StackEvent } from './stack';

/** One handled event, as the `--once` summary table shows it. */
export interface HandledEvent {
  key: string;
  status: SummaryEntry['status'] | 'rejected';
  layerName: string | undefined;
  version: number | undefined;
  size: number;
  ms: number;
  detail: string | undefined;
  /** With --regions: the regions the upload failed in, while its home status may say published. */
  regionsFailed: readonly string[];
}

/** Records that deserve a non-zero exit: a failed result, or a handler that rejected. */
export function isFailure(handled: HandledEvent): boolean {
  return handled.status === 'failed' || handled.status === 'rejected' || handled.regionsFailed.length > 0;
}

export function handledEvents(record: OssEventRecord, outcome: InvocationOutcome, ms: number): HandledEvent[] {
  const { key, size } = record.oss.object;
  if (outcome.kind === 'rejected') {
    return [{ key, status: 'rejected', layerName: undefined, version: undefined, size, ms, detail: outcome.message, regionsFailed: [] }];
  }
  return outcome.summary.map((entry) => ({
    key: entry.key ?? key,
    status: entry.status,
    layerName: entry.layerName,
    version: entry.version,
    size,
    ms,
    detail: entry.error ? `${entry.error.code}: ${entry.error.message}` : entry.reason,
    regionsFailed: entry.regionsFailed ?? [],
  }));
}

export function summaryTable(handled: readonly HandledEvent[], options: TableOptions = {}): string {
  const status = (h: HandledEvent): string => (h.regionsFailed.length === 0 ? h.status : `${h.status}, failed in ${h.regionsFailed.join(', ')}`);
  const rows = handled.map((h) => [h.key, h.layerName ?? '-', h.version === undefined ? '-' : String(h.version), status(h), formatBytes(h.size), `${h.ms} ms`]);
  return formatTable(['key', 'layer', 'version', 'status', 'size', 'time'], rows, options);
}

/** Failed results already in the bucket that this run did not handle again: they still need fixing. */
export function stillFailed(failed: readonly FailedLayer[], handled: readonly HandledEvent[]): FailedLayer[] {
  const handledKeys = new Set(handled.map((h) => h.key));
  return failed.filter(({ keys }) => !handledKeys.has(keys.zip) && !handledKeys.has(keys.manifest));
}

export function stillFailedTable(failed: readonly FailedLayer[], options: TableOptions = {}): string {
  // The error last: its message is long, and the columns before it stay readable.
  const rows = failed.map(({ keys, result }) => [keys.result, result.layerName ?? '-', result.finishedAt, failureOf(result)]);
  return formatTable(['result', 'layer', 'when', 'error'], rows, options);
}

/** The home error, else each failed region's (their messages name the region). */
function failureOf(result: PublishResult): string {
  if (result.error) return `${result.error.code}: ${result.error.message}`;
  const errors = Object.values(result.regions ?? {}).flatMap((entry) => (entry.error ? [`${entry.error.code}: ${entry.error.message}`] : []));
  return errors.length === 0 ? '-' : errors.join('; ');
}

/** A handler log line, as far as the report reads it. */
interface LogEntry {
  level?: string;
  step?: string;
  [field: string]: unknown;
}

/** Zips below this size read too fast for a rate to mean anything. */
const RATE_FROM_BYTES = 8 * 1024 * 1024;

/**
 * Human lines for the handler's JSON log lines: one per step a person cares about, nothing for
 * bookkeeping steps (claims, audit). Undefined means the line is not worth showing. `said` holds the
 * lines already shown for the invocation under way: the handler checks the pair again after writing
 * a `waiting` result, and logs `pair.waiting` a second time, which says nothing new.
 */
function describeLogLine(line: string, said: Set<string>): string | undefined {
  let entry: LogEntry;
  try {
    entry = JSON.parse(line) as LogEntry;
  } catch {
    return `  ${line}`;
  }
  const described = describeEntry(entry);
  if (described === undefined || entry.step !== 'pair.waiting') return described;
  if (said.has(described)) return undefined;
  said.add(described);
  return described;
}

function describeEntry(entry: LogEntry): string | undefined {
  const field = (name: string): string => String(entry[name] ?? '');
  const number = (name: string): number => Number(entry[name] ?? 0);
  // Steps in another region name it; the home region's do not.
  const where = entry.region === undefined ? '' : ` in ${field('region')}`;
  switch (entry.step) {
    case 'zip.read':
      return `  reading the zip (${formatBytes(number('size'))})`;
    case 'zip.verified': {
      const rate = number('bytes') >= RATE_FROM_BYTES ? ` at ${formatRate(number('bytes'), number('ms'))}` : '';
      return `  zip checked: ${number('entries')} entries, CRC-64 ${field('crc64')}, read in ${number('ms')} ms${rate}`;
    }
    case 'pair.waiting':
      return `  waiting for the ${entry.zipFound ? 'manifest (.layer.json)' : 'zip'}: the other half is not there yet`;
    case 'layer.created':
      return `  created layer ${field('layerName')} version ${field('version')}${where}`;
    case 'layer.adopted':
      return `  adopted layer ${field('layerName')} version ${field('version')}${where} made by an earlier attempt`;
    case 'layer.unchanged':
      return `  unchanged: ${field('layerName')} version ${field('version')}${where} already holds this zip`;
    case 'region.staged':
      return entry.reused
        ? `  ${field('region')}: the staged copy in ${field('bucket')} is already there, reused`
        : `  copied the zip to ${field('region')} (${field('bucket')}/${field('key')})`;
    case 'region.already-settled':
      return `  ${field('region')}: already ${field('status')}${entry.version === undefined ? '' : ` (version ${field('version')})`}`;
    case 'region.failed':
    case 'region.unfinished': {
      const error = entry.error as { code?: string; message?: string } | undefined;
      const next = entry.step === 'region.unfinished' ? ' (for now: the handler rejects, and the redelivery retries this region)' : '';
      return `  ${field('region')} failed: ${[error?.code, error?.message].filter(Boolean).join(' ')}${next}`;
    }
    case 'retention.done':
      return describeRetention(entry, where);
    case 'layer.acl':
      return `  ACL: layer ${field('layerName')}${where} is now ${entry.public ? 'public: any account can use its versions' : 'private to this account'}`;
    case 'upload.already-settled':
      return `  already handled (${field('status')})`;
    case 'event.stale':
      return '  stale: the object was replaced since; its newer upload is handled on its own';
    case 'result.written': {
      const error = entry.errorCode === undefined ? '' : ` ${field('errorCode')}`;
      return `  result: ${field('status')}${error} -> ${field('resultKey')}`;
    }
    case 'record.failed': {
      const error = entry.error as { code?: string; message?: string } | undefined;
      return `  failed: ${error?.code ?? ''} ${error?.message ?? ''}`.trimEnd();
    }
    case 'rollout.updated':
      return `  rollout: function ${field('functionName')}${where} now uses ${[entry.after].flat().join(', ')} (had ${[entry.before].flat().join(', ') || 'no layers'})`;
    case 'rollout.canary':
      return `  canary: alias ${field('alias')} of ${field('functionName')} sends ${field('weight')} of its traffic to function version ${field('functionVersion')}`;
    case 'rollout.done':
      return `  rollout of ${field('layerName')}: ${[entry.functions].flat().join(', ') || 'no function'}`;
    default:
      return entry.level === 'warn' || entry.level === 'error' ? `  ${entry.level}: ${field('step')} ${describeFields(entry)}` : undefined;
  }
}

/** What retention did to a layer's versions; nothing when it had nothing to delete or keep. */
function describeRetention(entry: LogEntry, where: string): string | undefined {
  const versions = (name: string): number[] => (Array.isArray(entry[name]) ? (entry[name] as unknown[]).filter((v): v is number => typeof v === 'number') : []);
  const deleted = versions('deleted');
  const kept = versions('kept');
  if (deleted.length === 0 && kept.length === 0) return undefined;
  const list = (numbers: number[]): string => `version${numbers.length === 1 ? '' : 's'} ${numbers.join(', ')}`;
  const parts = [
    ...(deleted.length > 0 ? [`${entry.dryRun ? 'would delete' : 'deleted'} ${list(deleted)}`] : []),
    ...(kept.length > 0 ? [`kept ${list(kept)}, still in use by functions`] : []),
  ];
  return `  retention (keep ${String(entry.keep)}): ${String(entry.layerName)}${where} ${parts.join('; ')}`;
}

function describeFields(entry: LogEntry): string {
  const error = entry.error as { message?: string } | undefined;
  return error?.message ?? (typeof entry.message === 'string' ? entry.message : '');
}

/** Describes stack events for people, one invocation after another; `--json` prints the raw lines instead (see jsonLine). */
export function stackDescriber(): (event: StackEvent) => string | undefined {
  let said = new Set<string>();
  return (event) => {
    if (event.kind === 'invoke') said = new Set();
    return describeStackEvent(event, said);
  };
}

function describeStackEvent(event: StackEvent, said: Set<string>): string | undefined {
  switch (event.kind) {
    case 'example':
      return `First start: put the example layer in the bucket (${event.keys.join(', ')})`;
    case 'invoke': {
      const { key, size } = event.record.oss.object;
      const again = event.attempt === 1 ? '' : `, delivered again: attempt ${event.attempt}`;
      return `> ${key} (${formatBytes(size)}, ${event.record.eventName}, ${ORIGINS[event.origin]}${again})`;
    }
    case 'log':
      return describeLogLine(event.line, said);
    case 'outcome':
      if (event.outcome.kind !== 'rejected') return `  done in ${event.ms} ms`;
      return event.redeliveryInMs === undefined
        ? `  handler rejected: ${event.outcome.message}`
        : `  handler rejected: ${event.outcome.message}; delivered again in ${event.redeliveryInMs} ms, as Function Compute does`;
    case 'watch-error':
      return `watching failed: ${event.message}`;
  }
}

const ORIGINS = { upload: 'uploaded to the endpoint', folder: 'copied into the folder', startup: 'found at start' } as const;

/** `--json`: the handler's own lines as they are, and the stack's events as JSON lines beside them. */
export function jsonLine(event: StackEvent): string {
  if (event.kind === 'log') return event.line;
  if (event.kind === 'invoke') {
    return JSON.stringify({
      source: 'local',
      kind: 'invoke',
      key: event.record.oss.object.key,
      eventName: event.record.eventName,
      origin: event.origin,
      attempt: event.attempt,
    });
  }
  if (event.kind === 'outcome') {
    const { kind: result, ...outcome } = event.outcome;
    return JSON.stringify({
      source: 'local',
      kind: 'outcome',
      key: event.record.oss.object.key,
      ms: event.ms,
      result,
      ...outcome,
      redeliveryInMs: event.redeliveryInMs,
    });
  }
  return JSON.stringify({ source: 'local', ...event });
}
