import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RegionOutcomes, type ResultRow, resultsTable } from '../../src/cli/results';
import { runCli } from '../../src/cli/run';
import { type LoopbackServer, type OssEmulator, createOssEmulator, serve } from '../../src/emulator';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';

const BUCKET = 'region-results';
const CRC = '2825179536350126003';
const NOW = new Date('2026-12-07T04:00:00Z');

const arn = (region: string, layer: string, version: number): string => `acs:fc:${region}:${LOCAL_ACCOUNT_ID}:layers/${layer}/versions/${version}`;

/** A three-region result as docs/regions.md shapes it: the map's order is REGIONS order, home not first. */
function partialRegions(layer: string): RegionOutcomes {
  return {
    'cn-shanghai': {
      status: 'published',
      version: 7,
      arn: arn('cn-shanghai', layer, 7),
      codeChecksum: CRC,
      staged: { bucket: 'team-layers-sh', key: `_audit/staged/u1/${layer}.zip.staged`, reused: false },
    },
    'cn-hangzhou': { status: 'published', home: true, version: 3, arn: arn('cn-hangzhou', layer, 3), codeChecksum: CRC },
    'cn-beijing': {
      status: 'failed',
      staged: { bucket: 'team-layers-bj', key: `_audit/staged/u1/${layer}.zip.staged`, reused: true },
      error: { code: 'FcRejected', message: 'cn-beijing: FC LayerQuotaExceeded: too many versions', retryable: false },
    },
  };
}

function row(overrides: Partial<ResultRow>): ResultRow {
  return {
    kind: 'result',
    key: 'layers/pillow.result.json',
    layerName: 'pillow',
    version: 3,
    status: 'published',
    size: 581,
    crc64: CRC,
    when: '2026-12-01T10:00:00.000Z',
    error: undefined,
    ...overrides,
  };
}

/** The lines of the regions section, split into cells on runs of two or more spaces. */
function regionLines(table: string): string[][] {
  const section = table.split('Regions:\n')[1];
  expect(section, `no regions section in:\n${table}`).toBeDefined();
  return section!
    .split('\n')
    .slice(2)
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/ {2,}/));
}

describe('results: the regions of each result', () => {
  it('lists every region, home first and marked, with version, ARN, and the failed region’s error', () => {
    const table = resultsTable([row({ regions: partialRegions('pillow') })], NOW);
    expect(regionLines(table)).toEqual([
      ['pillow', 'cn-hangzhou (home)', 'published', '3', arn('cn-hangzhou', 'pillow', 3)],
      ['cn-shanghai', 'published', '7', arn('cn-shanghai', 'pillow', 7)],
      ['cn-beijing', 'failed', '-', '-', 'FcRejected: cn-beijing: FC LayerQuotaExceeded: too many versions'],
    ]);
    // The columns line up: each region name starts where the header's does.
    const lines = table.split('Regions:\n')[1]!.split('\n');
    const column = lines[0]!.indexOf('region');
    for (const line of lines.slice(2)) expect(line.slice(column)).toMatch(/^cn-/);
  });

  it('groups the regions of several layers, says a retryable failure is, and leaves results without regions out', () => {
    const retried: RegionOutcomes = {
      'cn-hangzhou': { status: 'unchanged', home: true, version: 2, arn: arn('cn-hangzhou', 'numpy', 2), codeChecksum: CRC },
      'cn-shanghai': { status: 'failed', error: { code: 'Unavailable', message: 'cn-shanghai: FC unreachable', retryable: true } },
    };
    const table = resultsTable(
      [
        row({ regions: partialRegions('pillow') }),
        row({ key: 'layers/old.result.json', layerName: 'old' }),
        row({ key: 'layers/numpy.result.json', layerName: 'numpy', status: 'unchanged', regions: retried }),
      ],
      NOW,
    );
    const lines = regionLines(table);
    expect(lines.map((cells) => cells[0])).toEqual(['pillow', 'cn-shanghai', 'cn-beijing', 'numpy', 'cn-shanghai']);
    expect(lines[4]).toEqual(['cn-shanghai', 'failed', '-', '-', 'Unavailable: cn-shanghai: FC unreachable (retryable)']);
    expect(table).not.toMatch(/^old +cn-/m);
  });

  it('prints no regions section when no result has the map (a publisher without REGIONS)', () => {
    const table = resultsTable([row({}), row({ kind: 'audit', key: '_audit/records/x.json' })], NOW);
    expect(table).not.toContain('Regions');
    expect(table.split('\n')).toHaveLength(4);
    expect(table.split('\n')[0]).toMatch(/^kind +layer +version +status /);
  });

  it('adds a region column when rows are about regions: a result’s home region, an audit record’s own', () => {
    const table = resultsTable(
      [
        row({ regions: partialRegions('pillow'), region: 'cn-hangzhou' }),
        row({ kind: 'audit', key: '_audit/records/a.json', version: 7, region: 'cn-shanghai' }),
      ],
      NOW,
    );
    const [header, , home, shanghai] = table.split('\n');
    expect(header).toMatch(/^kind +layer +region +version +status /);
    expect(home).toMatch(/^result +pillow +cn-hangzhou +3 +published /);
    expect(shanghai).toMatch(/^audit +pillow +cn-shanghai +7 +published /);
  });
});

describe('results: errors, sizes and waiting pairs', () => {
  const failed = row({
    key: 'layers/numpy.result.json',
    layerName: 'numpy',
    version: undefined,
    status: 'failed',
    size: 12 * 1024 * 1024,
    error: `ZipLayoutInvalid: ${'the zip has node_modules/ at its top, which no runtime reads; '.repeat(4)}`,
  });
  const waiting = row({
    key: 'layers/x.result.json',
    layerName: 'x',
    version: undefined,
    status: 'waiting',
    size: undefined,
    waiting: {
      missing: 'layers/x.zip',
      since: '2026-12-07T03:15:00.000Z',
      nearMiss: { key: 'layers/x-1.2.zip', fix: 'rename layers/x-1.2.zip to layers/x.zip' },
    },
  });

  it('shows the error (code and start of the message in a terminal, all of it otherwise) and sizes in KiB and MiB', () => {
    const whole = resultsTable([row({}), failed], NOW).split('\n');
    expect(whole[0]).toMatch(/^kind +layer +version +status +size +crc64 +when +key +error$/);
    expect(whole[2]).toMatch(/^result +pillow +3 +published +581 B +\d+ +2026-12-01T10:00:00\.000Z +layers\/pillow\.result\.json +-$/);
    expect(whole[3]).toMatch(/ 12 MiB /);
    expect(whole[3]!.endsWith(failed.error!.trimEnd())).toBe(true);

    const terminal = resultsTable([row({}), failed], NOW, { width: 250 }).split('\n');
    expect(terminal[3]).toMatch(/ ZipLayoutInvalid: the zip has node_modules\/ at its top, whi…$/);
    const narrow = resultsTable([row({}), failed], NOW, { width: 120 }).split('\n');
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(120);
    expect(narrow[3]).toContain('numpy');
  });

  it('lists the pairs still waiting: for how long, for which key, and the near miss with its fix', () => {
    const table = resultsTable([row({}), waiting], NOW);
    const section = table.split('Waiting for the other half:\n')[1]!.split('\n');
    expect(section[0]).toMatch(/^result +waiting +for +near miss$/);
    expect(section[2]).toMatch(/^layers\/x\.result\.json +45m +layers\/x\.zip +layers\/x-1\.2\.zip: rename layers\/x-1\.2\.zip to layers\/x\.zip$/);
    expect(resultsTable([row({})], NOW)).not.toContain('Waiting');
  });
});

describe('results and publish against OSS: the regions as the publisher wrote them', () => {
  let emulator: OssEmulator;
  let oss: LoopbackServer;
  let dir: string;

  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runIn(undefined, ...argv);
  /** As in a terminal `columns` wide (undefined: a pipe). */
  const runIn = async (columns: number | undefined, ...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, interactive: false, columns });
    return { code, out, err };
  };

  const result = (layerName: string, requestId: string, regions?: RegionOutcomes): Record<string, unknown> => ({
    status: 'published',
    layerName,
    version: 3,
    arn: arn(LOCAL_REGION, layerName, 3),
    source: { bucket: BUCKET, key: `layers/${layerName}.zip`, size: 10, crc64: CRC },
    event: { name: 'ObjectCreated:PutObject', time: undefined, requestId, key: `layers/${layerName}.zip` },
    requestId: 'fc-request',
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:01.000Z',
    ...(regions === undefined ? {} : { regions }),
  });

  beforeAll(async () => {
    emulator = createOssEmulator({ accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS], buckets: [BUCKET] });
    oss = await serve(emulator.handle, { port: 0, host: '127.0.0.1' });
    dir = await mkdtemp(join(tmpdir(), 'cli-regions-'));
  });
  afterAll(async () => {
    await oss.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('results: exit 1 when a region failed though home published; --json passes each map through as written', async () => {
    const regions = partialRegions('pillow');
    await emulator.putObject(BUCKET, 'layers/pillow.result.json', Buffer.from(JSON.stringify(result('pillow', 'r1', regions))));
    await emulator.putObject(BUCKET, 'layers/plain.result.json', Buffer.from(JSON.stringify(result('plain', 'r2'))));
    const shown = await run('results', '--bucket', BUCKET, '--endpoint', oss.url);
    expect(shown.code).toBe(1);
    expect(regionLines(shown.out)[2]).toEqual(['cn-beijing', 'failed', '-', '-', 'FcRejected: cn-beijing: FC LayerQuotaExceeded: too many versions']);
    const json = await run('results', '--bucket', BUCKET, '--endpoint', oss.url, '--json');
    const rows = JSON.parse(json.out) as ResultRow[];
    expect(rows.find((r) => r.layerName === 'pillow')).toMatchObject({ region: 'cn-hangzhou', regions });
    expect(rows.find((r) => r.layerName === 'plain')).not.toHaveProperty('regions');

    await emulator.putObject(
      BUCKET,
      'layers/pillow.result.json',
      Buffer.from(
        JSON.stringify(
          result('pillow', 'r3', { ...regions, 'cn-beijing': { status: 'published', version: 1, arn: arn('cn-beijing', 'pillow', 1), codeChecksum: CRC } }),
        ),
      ),
    );
    expect((await run('results', '--bucket', BUCKET, '--endpoint', oss.url)).code).toBe(0);
  });

  it('results fits the terminal it prints to; --wide and a pipe get every cell whole, --json the same rows', async () => {
    await emulator.putObject(BUCKET, 'layers/pillow.result.json', Buffer.from(JSON.stringify(result('pillow', 'r4', partialRegions('pillow')))));
    const flags = ['results', '--bucket', BUCKET, '--endpoint', oss.url];
    const fitted = await runIn(100, ...flags);
    for (const line of fitted.out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(fitted.out).toContain('…');
    for (const whole of [await runIn(100, ...flags, '--wide'), await runIn(undefined, ...flags)]) {
      expect(whole.out).not.toContain('…');
      expect(whole.out).toContain(arn('cn-shanghai', 'pillow', 7));
    }
    expect((await runIn(100, ...flags, '--json')).out).toBe((await runIn(undefined, ...flags, '--json')).out);
  });

  it('publish prints the result’s regions as a table and exits 1 when one failed', async () => {
    await writeFile(join(dir, 'geo.zip'), zipSync({ 'nodejs/node_modules/geo/index.js': Buffer.from('module.exports = 1') }));
    await writeFile(join(dir, 'geo.layer.json'), JSON.stringify({ layerName: 'geo', compatibleRuntime: ['nodejs20'] }));
    // Stands in for the publisher: the zip's event gets a result naming that event, with its regions.
    const stop = emulator.onObjectCreated((record) => {
      if (record.oss.object.key !== 'cli/geo.zip') return;
      void emulator.putObject(
        BUCKET,
        'cli/geo.result.json',
        Buffer.from(JSON.stringify(result('geo', record.responseElements.requestId, partialRegions('geo')))),
      );
    });
    try {
      const shown = await run('publish', join(dir, 'geo.zip'), '--bucket', BUCKET, '--prefix', 'cli/', '--endpoint', oss.url, '--wait', '20');
      expect(shown.code).toBe(1);
      expect(regionLines(shown.out).map((cells) => cells.slice(0, 3))).toEqual([
        ['geo', 'cn-hangzhou (home)', 'published'],
        ['cn-shanghai', 'published', '7'],
        ['cn-beijing', 'failed', '-'],
      ]);
      const json = await run('publish', join(dir, 'geo.zip'), '--bucket', BUCKET, '--prefix', 'cli/', '--endpoint', oss.url, '--wait', '20', '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.out)).toMatchObject({ status: 'published', regions: partialRegions('geo') });
      expect(json.out).not.toContain('Regions:');
    } finally {
      stop();
    }
  });
});
