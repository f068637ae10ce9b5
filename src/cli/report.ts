import { writeFile } from 'node:fs/promises';
import { renderReport } from '../report/html';
import { buildTimelines } from '../report/timeline';
import { SINCE_HELP, SINCE_OPTION, TRAIL_HELP, TRAIL_OPTIONS, readTrail, trailFilter, trailLocation } from './audit';
import { FC_HELP, FC_OPTIONS, fcConfigured, fcFunctionsApi, fcLayerApi } from './fc';
import { readContentsDocuments } from './contents';
import { CliError, type CliIo, EXIT_DENIED, EXIT_FAILED, EXIT_NO_SUCH_BUCKET, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, exitCodesHelp } from '../console/io';
import { layerConsumers, type LayerConsumer } from '../rollout/consumers';
import { verifyTrail } from './verify';

export const reportCommand = {
  help: `Usage: layer-publisher report --html <file> --bucket <b> [--layer <name>] [--since <date>] [--fc-endpoint <url>]

Writes one self-contained HTML page (no script, nothing fetched: it reads offline): per layer, a
timeline of its versions, published, unchanged, failed and deleted, with who uploaded each and when,
and what changed inside each version since the one before (from the contents recorded per version).
Given where Function Compute is (--fc-endpoint, --account-id, FC_ENDPOINT or FC_ACCOUNT_ID), it is
compared with the trail as verify does, and drift is shown in the timeline; each layer lists which
functions, function versions and aliases use which of its versions (FC 3.0).
  --html <file>         where to write the page (required)
${TRAIL_HELP}${SINCE_HELP}${FC_HELP}${exitCodesHelp([EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_DENIED, EXIT_NO_SUCH_BUCKET], {
  [EXIT_OK]: 'the page is written (drift is shown in it)',
  [EXIT_FAILED]: 'FC refused the listing',
})}`,
  options: { ...TRAIL_OPTIONS, ...SINCE_OPTION, ...FC_OPTIONS, html: { type: 'string' } } as const,
  positionals: 0,
  async run(values: Record<string, string | boolean | undefined>, _positionals: string[], io: CliIo): Promise<number> {
    const path = typeof values.html === 'string' && values.html !== '' ? values.html : undefined;
    if (path === undefined) throw new CliError('--html <file> is required: where to write the page');
    const location = trailLocation(values, io.env);
    const filter = trailFilter(values);
    const fc = fcConfigured(values, io.env) ? fcLayerApi(values, io.env) : undefined;
    const entries = await readTrail(location, filter, io.env);
    // Drift is judged on the whole trail: --since would make older versions look unrecorded.
    const verify =
      fc &&
      (await verifyTrail(
        filter.since ? await readTrail(location, { ...filter, since: undefined }, io.env) : entries,
        fc,
        filter.layer ? [filter.layer] : [],
        new Date(),
      ));
    const timelines = buildTimelines(entries, verify);
    const contents = await readContentsDocuments(location, filter.layer, io.env);
    const consumers = fc && (await consumersOf(values, io));
    await writeFile(
      path,
      renderReport({ bucket: location.bucket, prefix: location.prefix, timelines, verify, contents, consumers, generatedAt: new Date() }),
    ).catch((error: unknown) => {
      throw new CliError(`writing ${path} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    const drift = verify?.drift.length;
    const summary = { html: path, layers: timelines.length, records: entries.length, drift: drift ?? null };
    io.out(
      `${values.json ? JSON.stringify(summary) : `wrote ${path}: ${summary.layers} layer(s), ${summary.records} record(s), ${drift === undefined ? 'not compared with Function Compute' : `${drift} drifted`}`}\n`,
    );
    return EXIT_OK;
  },
};

/** Who uses which version, for the page's "used by"; an account FC 3.0 cannot read is said so on the page. */
async function consumersOf(values: Record<string, string | boolean | undefined>, io: CliIo): Promise<LayerConsumer[] | { error: string }> {
  try {
    return await layerConsumers(fcFunctionsApi(values, io.env), (_step, operation) => operation());
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
