import { loadConfig, noticeSecrets } from '../config';
import { PublisherError, TransientError } from '../errors';
import { createLogger } from '../log/logger';
import { driftNotice } from '../notify/notice';
import { MAX_NOTICE_MS, sendNotices } from '../notify/notices';
import type { LayerApi, LayerVersion } from '../fc/layers';
import { LAYER_NAME } from '../manifest/manifest';
import { type TableOptions, formatTable } from '../console/format';
import { type VerifyReport, compareTrail } from '../report/drift';
import type { TrailEntry } from '../report/trail';
import { TRAIL_HELP, TRAIL_OPTIONS, printable, readTrail, trailFilter, trailLocation } from './audit';
import { FC_HELP, FC_OPTIONS, fcLayerApi } from './fc';
import {
  CliError,
  type CliIo,
  EXIT_DENIED,
  EXIT_FAILED,
  EXIT_NO_SUCH_BUCKET,
  EXIT_OK,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
  ServiceError,
  exitCodesHelp,
  tableOptions,
} from '../console/io';

/**
 * Asks FC for every version of each layer the trail names (and `alsoLayers`), and compares. A record
 * may name anything (anyone who can write to the bucket can write one): a name outside FC's layer-name
 * rule cannot be an FC layer, and must not be put into a request path.
 */
export async function verifyTrail(entries: readonly TrailEntry[], fc: LayerApi, alsoLayers: readonly string[], now: Date): Promise<VerifyReport> {
  const invalid = alsoLayers.find((name) => !LAYER_NAME.test(name));
  if (invalid !== undefined)
    throw new CliError(`--layer ${JSON.stringify(invalid)} is not a Function Compute layer name (letters, digits, _ and -, starting with a letter or _)`);
  const names = [...new Set([...entries.flatMap((entry) => (entry.layerName === undefined ? [] : [entry.layerName])), ...alsoLayers])]
    .filter((name) => LAYER_NAME.test(name))
    .sort();
  const held = new Map<string, LayerVersion[]>();
  for (const name of names) {
    try {
      held.set(name, await fc.versionsFrom(name, 1));
    } catch (error) {
      if (!(error instanceof PublisherError)) throw error;
      const message = `listing the versions of layer ${name} in Function Compute failed: ${error.message}`;
      // Out of reach or throttled is not the caller's mistake (README "Exit codes"); a refusal is quoted as FC gave it.
      const exitCode = error instanceof TransientError ? EXIT_UNREACHABLE : error.context.status === 403 ? EXIT_DENIED : EXIT_FAILED;
      throw new ServiceError(message, exitCode);
    }
  }
  return compareTrail(entries, held, now);
}

/** `--notify`: the drift as one notice, sent as the function sends its own (the targets' secrets never printed). */
async function notifyDrift(report: VerifyReport, io: CliIo): Promise<void> {
  const { notify } = loadConfig(io.env);
  if (notify.targets.length === 0) throw new CliError('--notify: no notice target is set (NOTIFY_WEBHOOK_URL or NOTIFY_DINGTALK_WEBHOOK, with their secrets)');
  const log = createLogger({ secrets: noticeSecrets(notify), write: () => undefined });
  const outcome = await sendNotices(driftNotice(report.drift, report.checkedAt), undefined, {
    ledger: undefined,
    notify,
    log,
    now: () => new Date(),
    budgetMs: () => MAX_NOTICE_MS,
  });
  const said =
    outcome === undefined
      ? 'not sent: NOTIFY_ON does not name drift'
      : Object.entries(outcome.targets)
          .map(([name, target]) => `${name} ${target.status}${'error' in target && target.error ? ` (${target.error})` : ''}`)
          .join(', ');
  io.err(`notice: ${log.redact(said)}\n`);
}

export function verifyText(report: VerifyReport, options: TableOptions = {}): string {
  const versions = report.layers.reduce((sum, layer) => sum + layer.fcVersions.length, 0);
  const checked = `checked ${report.layers.length} layer${report.layers.length === 1 ? '' : 's'}, ${versions} version${versions === 1 ? '' : 's'} in Function Compute`;
  if (report.ok) return `${checked}: no drift, every version matches the audit trail`;
  const dash = (value: string | undefined): string => (value === undefined || value === '' ? '-' : printable(value));
  const table = formatTable(
    ['layer', 'version', 'drift', 'fc codeChecksum', 'recorded crc64', 'detail'],
    report.drift.map((d) => [d.layerName, String(d.version), d.kind, dash(d.fcChecksum), dash(d.recordedCrc64), printable(d.message)]),
    options,
  );
  return `${table}\n\n${checked}: ${report.drift.length} drifted`;
}

export const verifyCommand = {
  help: `Usage: layer-publisher verify --bucket <b> [--layer <name>] [--fc-endpoint <url>] [--json]

Compares the audit trail with what Function Compute holds, for every layer the trail names (or
--layer): versions FC has that no record published (made outside the bucket), versions whose
codeChecksum differs from the CRC-64 recorded at publish, and published versions FC no longer has
(versions the publisher's retention deleted are not drift).
${TRAIL_HELP}${FC_HELP}  --notify              on drift, send a notice to the targets of NOTIFY_* (with drift in NOTIFY_ON),
                        as the function does (docs/index-and-notices.md); its outcome is printed on stderr
${exitCodesHelp([EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_DENIED, EXIT_NO_SUCH_BUCKET], {
  [EXIT_OK]: 'no drift',
  [EXIT_FAILED]: 'drift found, or FC refused the listing',
})}`,
  // No --since: it would hide the records that explain older versions, and so report them as drift.
  options: { ...TRAIL_OPTIONS, ...FC_OPTIONS, notify: { type: 'boolean', default: false } } as const,
  positionals: 0,
  async run(values: Record<string, string | boolean | undefined>, _positionals: string[], io: CliIo): Promise<number> {
    const filter = trailFilter(values);
    const fc = fcLayerApi(values, io.env);
    const entries = await readTrail(trailLocation(values, io.env), filter, io.env);
    const report = await verifyTrail(entries, fc, filter.layer === undefined ? [] : [filter.layer], new Date());
    io.out(`${values.json ? JSON.stringify(report) : verifyText(report, tableOptions(values, io))}\n`);
    if (values.notify === true && !report.ok) await notifyDrift(report, io);
    return report.ok ? EXIT_OK : EXIT_FAILED;
  },
};
