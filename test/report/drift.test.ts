import { describe, expect, it } from 'vitest';
import type { LayerVersion } from '../../src/fc/layers';
import { compareTrail } from '../../src/report/drift';
import { buildTimelines } from '../../src/report/timeline';
import { parseTrailEntry } from '../../src/report/trail';

const NOW = new Date('2026-12-01T12:00:00.000Z');

function fcVersion(version: number, codeChecksum: string): LayerVersion {
  return {
    layerName: 'lp',
    version,
    description: '',
    compatibleRuntime: ['nodejs20'],
    codeChecksum,
    arn: undefined,
    createTime: `2026-11-0${version}T00:00:00Z`,
    raw: {},
  };
}

/** A record as the publisher writes it under _audit/records/. */
function record(key: string, fields: Record<string, unknown>) {
  return parseTrailEntry('audit', key, { kind: 'result', layerName: 'lp', finishedAt: `2026-11-0${String(fields.version ?? 9)}T00:00:01Z`, ...fields });
}

describe('comparing the trail with what FC holds', () => {
  it('is clean when each version FC holds was published with its checksum', () => {
    const trail = [
      record('a', { status: 'published', version: 1, source: { key: 'lp.zip', crc64: '11' } }),
      // A result not written because a newer upload replaced the zip still made its version.
      record('b', { kind: 'superseded', status: 'published', version: 2, source: { key: 'lp.zip', crc64: '22' } }),
      record('c', { status: 'unchanged', version: 2, source: { key: 'lp.zip', crc64: '22' } }),
    ];
    const report = compareTrail(trail, new Map([['lp', [fcVersion(2, '22'), fcVersion(1, '11')]]]), NOW);
    expect(report).toEqual({
      ok: true,
      checkedAt: NOW.toISOString(),
      drift: [],
      layers: [{ layerName: 'lp', fcVersions: [1, 2], recordedVersions: [1, 2], deletedVersions: [] }],
    });
  });

  it("another region's records say nothing about the home region's versions", () => {
    const trail = [
      record('a', { status: 'published', version: 1, source: { key: 'lp.zip', crc64: '11' } }),
      // Shanghai's version 7 and the deletion of its version 1: numbers of another region's FC.
      record('r', { kind: 'region', region: 'cn-shanghai', status: 'published', version: 7, source: { key: 'lp.zip', crc64: '11' } }),
      record('d', { kind: 'deleted', region: 'cn-shanghai', status: 'deleted', version: 1 }),
    ];
    const report = compareTrail(trail, new Map([['lp', [fcVersion(1, '11')]]]), NOW);
    expect(report).toMatchObject({ ok: true, drift: [], layers: [{ recordedVersions: [1], deletedVersions: [] }] });
    expect(
      buildTimelines(trail, undefined)[0]!
        .rows.map((row) => row.detail)
        .sort(),
    ).toEqual(['in cn-shanghai', 'in cn-shanghai · lp.zip', 'lp.zip']);
  });

  it('a version only an unchanged record names was still made outside the bucket', () => {
    const trail = [record('c', { status: 'unchanged', version: 1, source: { key: 'lp.zip', crc64: '11' } })];
    const report = compareTrail(trail, new Map([['lp', [fcVersion(1, '11')]]]), NOW);
    expect(report.drift).toMatchObject([{ version: 1, kind: 'unrecorded', createTime: '2026-11-01T00:00:00Z' }]);
  });

  it('a version retention deleted is not drift; one a dry run only listed is', () => {
    const published = [1, 2].map((version) => record(`p${version}`, { status: 'published', version, source: { key: 'lp.zip', crc64: String(version) } }));
    const deleted = record('d', { kind: 'deleted', status: 'deleted', version: 1 });
    const dryRun = record('e', { kind: 'deleted', status: 'deleted', version: 2, dryRun: true });
    const report = compareTrail([...published, deleted, dryRun], new Map([['lp', []]]), NOW);
    expect(report.drift.map((d) => [d.version, d.kind])).toEqual([[2, 'missing']]);
    expect(report.layers[0]!.deletedVersions).toEqual([1]);
  });

  it('compares the recorded CRC-64, or FC’s codeChecksum in the record when the source has none', () => {
    const trail = [record('a', { status: 'published', version: 1, source: { key: 'lp.zip' }, layer: { codeChecksum: '11' } })];
    const report = compareTrail(trail, new Map([['lp', [fcVersion(1, '12')]]]), NOW);
    expect(report.drift).toMatchObject([{ version: 1, kind: 'checksum', fcChecksum: '12', recordedCrc64: '11' }]);
  });
});

describe('reading records leniently', () => {
  it('takes only fields of the right type: a hostile record cannot inject a status class or a version', () => {
    const entry = parseTrailEntry('audit', 'x', {
      status: 'published" onmouseover="x',
      version: '3',
      layerName: 7,
      provenance: { zip: { principalId: 5, sourceIp: '10.0.0.1' } },
    });
    expect(entry).toMatchObject({ status: 'published" onmouseover="x', provenance: { zip: { sourceIp: '10.0.0.1' } } });
    expect(entry.version).toBeUndefined();
    expect(entry.layerName).toBeUndefined();
    const [timeline] = buildTimelines([entry], undefined);
    expect(timeline!.rows[0]!.status).toBe('other');
    expect(timeline!.layerName).toBeUndefined();
  });
});
