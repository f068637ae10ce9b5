import { describe, expect, it } from 'vitest';
import { matchesQuery, packageHolders, parsePackageQuery } from '../../src/cli/contents';
import { contentsKeyParts } from '../../src/audit/layout';
import { changeLines, diffContents, parseContents } from '../../src/report/contents';
import { parseTrailEntry } from '../../src/report/trail';
import { cycloneDx, npm, pypi } from '../support/cyclonedx';

const V1 = parseContents(
  '_audit/contents/deps/v1.cdx.json',
  cycloneDx('deps', 1, [npm('lodash', '4.17.20'), npm('left-pad', '1.3.0'), npm('@scope/util', '2.0.0'), pypi('Requests', '2.31.0')], {
    files: 120,
    unpackedBytes: 3_000_000,
    crc64: '111',
  }),
);
const V2 = parseContents(
  '_audit/contents/deps/v2.cdx.json',
  cycloneDx(
    'deps',
    2,
    [
      npm('lodash', '4.17.21'),
      npm('lodash', '4.17.20', 'nodejs/node_modules/old/node_modules/lodash/package.json'),
      npm('@scope/util', '2.0.0'),
      npm('chalk', '5.3.0'),
    ],
    { files: 150, unpackedBytes: 3_500_000, crc64: '222' },
  ),
);

describe('the contents recorded per version', () => {
  it('reads the layer, the version, the counts and each package with its ecosystem and path', () => {
    expect(V1).toMatchObject({ layerName: 'deps', version: 1, crc64: '111', files: 120, unpackedBytes: 3_000_000 });
    expect(V1.packages).toContainEqual({
      ecosystem: 'npm',
      name: '@scope/util',
      version: '2.0.0',
      purl: 'pkg:npm/%40scope/util@2.0.0',
      path: 'nodejs/node_modules/@scope/util/package.json',
    });
    expect(V1.packages.find((found) => found.name === 'Requests')?.ecosystem).toBe('pypi');
  });

  it('refuses a document that is not the publisher’s, naming the key and the field', () => {
    expect(() => parseContents('_audit/contents/x/v1.cdx.json', { bomFormat: 'CycloneDX', metadata: { component: { name: 'x' } } })).toThrow(
      /_audit\/contents\/x\/v1\.cdx\.json .*metadata\.component\.version/,
    );
    const spdx = { ...cycloneDx('x', 1, [], { files: 0, unpackedBytes: 0, crc64: '0' }), bomFormat: 'SPDX' };
    expect(() => parseContents('k', spdx)).toThrow(/k is not a CycloneDX document the publisher wrote: bomFormat/);
  });

  it('knows its keys by layer and version', () => {
    expect(contentsKeyParts('_audit/contents/deps/v12.cdx.json')).toEqual({ layerName: 'deps', version: 12 });
    expect(contentsKeyParts('_audit/contents/deps/latest.json')).toBeUndefined();
  });
});

describe('diff between two versions', () => {
  it('lists packages added, removed and changed, a package at two paths as its set of versions, and the counts', () => {
    const diff = diffContents(V1, V2);

    expect(diff.added).toEqual([{ ecosystem: 'npm', name: 'chalk', from: [], to: ['5.3.0'] }]);
    expect(diff.removed).toEqual([
      { ecosystem: 'npm', name: 'left-pad', from: ['1.3.0'], to: [] },
      { ecosystem: 'pypi', name: 'Requests', from: ['2.31.0'], to: [] },
    ]);
    expect(diff.changed).toEqual([{ ecosystem: 'npm', name: 'lodash', from: ['4.17.20'], to: ['4.17.20', '4.17.21'] }]);
    expect(diff.files).toEqual({ from: 120, to: 150 });
    expect(diff.unpackedBytes).toEqual({ from: 3_000_000, to: 3_500_000 });
    expect(changeLines(diff)).toEqual(['+ npm chalk 5.3.0', '- npm left-pad 1.3.0', '- pypi Requests 2.31.0', '~ npm lodash 4.17.20 -> 4.17.20, 4.17.21']);
  });

  it('is empty between a version and itself', () => {
    const diff = diffContents(V2, V2);
    expect([diff.added, diff.removed, diff.changed]).toEqual([[], [], []]);
  });
});

describe('--package queries', () => {
  it('splits a name from its semver range, scoped names included', () => {
    expect(parsePackageQuery('lodash')).toEqual({ name: 'lodash', range: undefined });
    expect(parsePackageQuery('lodash@<4.17.21')).toEqual({ name: 'lodash', range: '<4.17.21' });
    expect(parsePackageQuery('@scope/util@^2')).toEqual({ name: '@scope/util', range: '^2' });
    expect(parsePackageQuery('@scope/util')).toEqual({ name: '@scope/util', range: undefined });
  });

  it('refuses a range that is not semver and an empty name, naming the flag', () => {
    expect(() => parsePackageQuery('lodash@not a range')).toThrow(/--package "lodash@not a range": "not a range" is not a semver range/);
    expect(() => parsePackageQuery('@')).toThrow(/--package "@": give a package name/);
  });

  it('matches by range, PyPI names whatever their case and separators, and no range for a version it cannot read', () => {
    const lodash = V1.packages.find((found) => found.name === 'lodash')!;
    expect(matchesQuery(lodash, parsePackageQuery('lodash@<4.17.21'))).toBe(true);
    expect(matchesQuery(lodash, parsePackageQuery('lodash@>=4.17.21'))).toBe(false);
    expect(matchesQuery(lodash, parsePackageQuery('Lodash'))).toBe(false);
    const requests = V1.packages.find((found) => found.name === 'Requests')!;
    expect(matchesQuery(requests, parsePackageQuery('requests@2.x'))).toBe(true);
    const jar = { ecosystem: 'generic', name: 'thing.jar', version: undefined, purl: 'pkg:generic/thing.jar', path: 'java/lib/thing.jar' };
    expect(matchesQuery(jar, parsePackageQuery('thing.jar'))).toBe(true);
    expect(matchesQuery(jar, parsePackageQuery('thing.jar@>=0'))).toBe(false);
  });

  it('finds every version holding it, in every region the same zip was published to', () => {
    const record = (region: string | undefined, version: number, crc64: string, status = 'published') =>
      parseTrailEntry('audit', `_audit/records/${region ?? 'home'}-${version}.json`, {
        kind: 'result',
        status,
        layerName: 'deps',
        version,
        ...(region === undefined ? {} : { region }),
        source: { key: 'layers/deps.zip', crc64 },
        finishedAt: '2026-12-07T00:00:00.000Z',
      });
    const trail = [record(undefined, 1, '111'), record('cn-shanghai', 4, '111'), record('cn-beijing', 2, '111', 'failed'), record('cn-shanghai', 5, '222')];

    const holders = packageHolders([V1, V2], trail, parsePackageQuery('lodash@<4.17.21'));

    expect(holders.map((holder) => [holder.region, holder.version, holder.package.version, holder.package.path])).toEqual([
      ['cn-shanghai', 4, '4.17.20', 'nodejs/node_modules/lodash/package.json'],
      ['cn-shanghai', 5, '4.17.20', 'nodejs/node_modules/old/node_modules/lodash/package.json'],
      ['home', 1, '4.17.20', 'nodejs/node_modules/lodash/package.json'],
      ['home', 2, '4.17.20', 'nodejs/node_modules/old/node_modules/lodash/package.json'],
    ]);
  });
});
