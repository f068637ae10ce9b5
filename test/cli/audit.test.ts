import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { TrailEntry } from '../../src/report/trail';
import { TEST_ACCOUNT_ID, TEST_BUCKET } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { NODE_MANIFEST, makeZip, nodejsLayerZip } from '../support/layers';
import {
  addProvenance,
  auditRecordKeys,
  deliverEvent,
  ossFlags,
  provenanceOf,
  publishThroughHandler,
  runCommand,
  useLoopbackCloud,
} from '../report/published-trail';

const env = useLoopbackCloud();

const ALICE = provenanceOf('RAM$team-a:203456789', '203.0.113.7', '2026-12-01T09:30:00.000Z');

/** Four real publishes of left-pad: v1, the same zip again (unchanged), v2, and a zip in the wrong layout. */
async function publishHistory() {
  const { cloud } = env;
  const v1 = nodejsLayerZip('v1');
  const v2 = nodejsLayerZip('v2');
  expect(await publishThroughHandler(cloud, 'layers/left-pad', v1, NODE_MANIFEST)).toMatchObject([{ status: 'published', version: 1 }]);
  // The same manifest in other bytes: another upload (OSS dates objects to the second), the same layer.
  const { layerName, ...rest } = NODE_MANIFEST;
  expect(await publishThroughHandler(cloud, 'layers/left-pad', v1, { ...rest, layerName })).toMatchObject([{ status: 'unchanged', version: 1 }]);
  expect(await publishThroughHandler(cloud, 'layers/left-pad', v2, NODE_MANIFEST)).toMatchObject([{ status: 'published', version: 2 }]);
  const flat = makeZip({ 'node_modules/left-pad/index.js': 'x' });
  expect(await publishThroughHandler(cloud, 'layers/left-pad', flat, NODE_MANIFEST)).toMatchObject([{ status: 'failed' }]);
  const keys = await auditRecordKeys(cloud);
  expect(keys).toHaveLength(4);
  return { v1, v2, keys };
}

/** The cells of a printed table, by its header's column names. */
function tableRows(text: string): Record<string, string>[] {
  const [header = '', underline = '', ...lines] = text.trimEnd().split('\n');
  const starts = [...underline.matchAll(/-+/g)].map((match) => match.index);
  const cell = (line: string, column: number) => line.slice(starts[column], starts[column + 1]).trim();
  const names = starts.map((_, column) => cell(header, column));
  return lines.map((line) => Object.fromEntries(names.map((name, column) => [name, cell(line, column)])));
}

describe('layer-publisher audit', () => {
  it('prints the history of real publishes, with who uploaded when the record says so', async () => {
    const { cloud } = env;
    const { v1, v2, keys } = await publishHistory();
    await addProvenance(cloud, keys[2]!, ALICE);

    const json = await runCommand('audit', ...ossFlags(cloud), '--json');
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as TrailEntry[];
    expect(entries.map((e) => [e.status, e.version, e.crc64])).toEqual([
      ['published', 1, independentCrc64(v1)],
      ['unchanged', 1, independentCrc64(v1)],
      ['published', 2, independentCrc64(v2)],
      ['failed', undefined, expect.stringMatching(/^\d+$/)],
    ]);
    expect(entries.map((e) => e.from)).toEqual(['audit', 'audit', 'audit', 'audit']);
    expect(entries.every((e) => e.layerName === 'left-pad' && e.zipKey === 'layers/left-pad.zip')).toBe(true);
    expect(entries[2]!.provenance).toEqual(ALICE);
    // A real publish records the uploader its event names (the emulated OSS: the account, from loopback).
    expect(entries[0]!.provenance).toMatchObject({
      zip: { principalId: TEST_ACCOUNT_ID, sourceIp: '127.0.0.1' },
      functionRequestId: expect.stringMatching(/^trail-request-/),
    });
    expect(entries[3]!.error).toMatchObject({ code: 'ZipLayoutInvalid', message: expect.stringContaining('nodejs/node_modules/') });

    const table = await runCommand('audit', ...ossFlags(cloud));
    const rows = tableRows(table.out);
    expect(rows.map((row) => [row.status, row.version])).toEqual([
      ['published', '1'],
      ['unchanged', '1'],
      ['published', '2'],
      ['failed', '-'],
    ]);
    expect(rows[2]).toMatchObject({ 'uploaded by': ALICE.zip.principalId, from: ALICE.zip.sourceIp, 'uploaded at': ALICE.zip.eventTime });
    for (const row of [rows[0]!, rows[1]!, rows[3]!]) expect([row['uploaded by'], row.from]).toEqual([TEST_ACCOUNT_ID, '127.0.0.1']);
    expect(rows[3]!.detail).toMatch(/^ZipLayoutInvalid: /);
  });

  it('names the manifest uploader too when someone else uploaded it', async () => {
    const { cloud } = env;
    const { keys } = await publishHistory();
    await addProvenance(cloud, keys[0]!, { ...ALICE, manifest: { ...ALICE.manifest, principalId: 'RAM$team-b:1' } });
    const rows = tableRows((await runCommand('audit', ...ossFlags(cloud))).out);
    expect(rows[0]!['uploaded by']).toBe(`${ALICE.zip.principalId} (manifest: RAM$team-b:1)`);
  });

  it('shows one row per decision, with both uploaders, however many events of the upload came', async () => {
    const { cloud } = env;
    expect(await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST)).toMatchObject([{ status: 'published', version: 1 }]);
    const bob = { userIdentity: { principalId: 'RAM$team-b:1' } };
    expect(await deliverEvent(cloud, 'layers/left-pad.layer.json', bob)).toMatchObject([{ status: 'published', version: 1 }]);
    await deliverEvent(cloud, 'layers/left-pad.zip');
    await deliverEvent(cloud, 'layers/left-pad.layer.json', bob);

    const entries = JSON.parse((await runCommand('audit', ...ossFlags(cloud), '--json')).out) as TrailEntry[];
    expect(entries.map((e) => [e.status, e.version])).toEqual([['published', 1]]);
    expect(entries[0]!.provenance).toMatchObject({ zip: { principalId: TEST_ACCOUNT_ID }, manifest: { principalId: 'RAM$team-b:1' } });
    const rows = tableRows((await runCommand('audit', ...ossFlags(cloud))).out);
    expect(rows.map((row) => row['uploaded by'])).toEqual([`${TEST_ACCOUNT_ID} (manifest: RAM$team-b:1)`]);
  });

  it('prints a hostile principal id as text a terminal does not act on', async () => {
    const { cloud } = env;
    const { keys } = await publishHistory();
    await addProvenance(cloud, keys[0]!, provenanceOf('RAM$x:1\u001b[2J\nforged row', '203.0.113.7', '2026-12-01T09:30:00.000Z'));
    const { out } = await runCommand('audit', ...ossFlags(cloud));
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(out.trimEnd().split('\n')).toHaveLength(2 + 4);
    expect(tableRows(out)[0]!['uploaded by']).toBe('RAM$x:1\\u001b[2J\\u000aforged row');
  });

  it('--layer keeps one layer; --since keeps what happened from then on', async () => {
    const { cloud } = env;
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST);
    await sleep(5);
    const between = new Date().toISOString();
    await sleep(5);
    await publishThroughHandler(cloud, 'layers/other', nodejsLayerZip('o1'), { ...NODE_MANIFEST, layerName: 'other' });
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v2'), NODE_MANIFEST);

    const layers = async (...flags: string[]) =>
      (JSON.parse((await runCommand('audit', ...ossFlags(cloud), '--json', ...flags)).out) as TrailEntry[]).map((e) => `${e.layerName}@${e.version}`);
    expect(await layers()).toEqual(['left-pad@1', 'other@1', 'left-pad@2']);
    expect(await layers('--layer', 'left-pad')).toEqual(['left-pad@1', 'left-pad@2']);
    expect(await layers('--since', between)).toEqual(['other@1', 'left-pad@2']);
    expect(await layers('--since', between, '--layer', 'other')).toEqual(['other@1']);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect(await layers('--since', tomorrow)).toEqual([]);
    expect((await runCommand('audit', ...ossFlags(cloud), '--since', tomorrow)).out).toContain('No audit records or results.');
    // A layer the trail knows, with nothing since then: an empty history, not a mistake.
    expect(await layers('--since', tomorrow, '--layer', 'other')).toEqual([]);
    // A layer no record or result names: said so, with the name most likely meant, exit 2.
    const unknown = await runCommand('audit', ...ossFlags(cloud), '--layer', 'left-pda');
    expect({ code: unknown.code, out: unknown.out }).toEqual({ code: 2, out: '' });
    expect(unknown.err).toBe(
      'layer-publisher audit: --layer "left-pda" is unknown: no audit record or result under the bucket names it; did you mean left-pad? (see layer-publisher audit --help)\n',
    );
    const far = await runCommand('audit', ...ossFlags(cloud), '--layer', 'nosuch');
    expect(far.err).toContain('--layer "nosuch" is unknown: no audit record or result under the bucket names it (it names left-pad, other)');
  });

  it('keeps a result whose audit record is elsewhere, and shows a record it cannot read', async () => {
    const { cloud } = env;
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST, { AUDIT_PREFIX: 'old-audit/' });
    await cloud.oss.putObject(TEST_BUCKET, '_audit/records/2026-11-30/junk.json', Buffer.from('{ not json'));

    const entries = JSON.parse((await runCommand('audit', ...ossFlags(cloud), '--json')).out) as TrailEntry[];
    expect(entries.map((e) => [e.from, e.key, e.status])).toEqual([
      ['audit', '_audit/records/2026-11-30/junk.json', 'unreadable'],
      ['result', 'layers/left-pad.result.json', 'published'],
    ]);
  });

  it('exits 2 naming the flag at fault', async () => {
    const { cloud } = env;
    const badSince = await runCommand('audit', ...ossFlags(cloud), '--since', 'last tuesday');
    expect(badSince.code).toBe(2);
    expect(badSince.err).toContain('--since must be a date');
    const noBucket = await runCommand('audit', '--endpoint', cloud.ossEndpoint);
    expect(noBucket.code).toBe(2);
    expect(noBucket.err).toContain('--bucket is required');
    const badPrefix = await runCommand('audit', ...ossFlags(cloud), '--audit-prefix', '../x/');
    expect(badPrefix.code).toBe(2);
    expect(badPrefix.err).toContain('--audit-prefix');
    for (const command of ['audit', 'verify', 'report']) {
      const help = await runCommand(command, '--help');
      expect([help.code, help.out.split('\n')[0]]).toEqual([0, expect.stringMatching(new RegExp(`^Usage: layer-publisher ${command} --`))]);
    }
    expect((await runCommand('--help')).out).toMatch(/audit .*\n\s+verify .*\n\s+report /);
  });
});
