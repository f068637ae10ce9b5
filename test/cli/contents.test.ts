import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeZip } from '../support/layers';
import { TEST_BUCKET } from '../support/cloud';
import { cycloneDx, npm } from '../support/cyclonedx';
import { ossFlags, runCommand, useLoopbackCloud } from '../report/published-trail';

const env = useLoopbackCloud();

/**
 * Two versions of a layer whose contents were recorded, and the audit records of a publisher with
 * REGIONS: v1's zip also became version 3 in cn-shanghai, v2's version 4 there.
 */
async function bucketWithContents(): Promise<void> {
  const { cloud } = env;
  const put = (key: string, body: object) => cloud.oss.putObject(TEST_BUCKET, key, Buffer.from(JSON.stringify(body)));
  await put(
    '_audit/contents/deps/v1.cdx.json',
    cycloneDx('deps', 1, [npm('lodash', '4.17.20'), npm('left-pad', '1.3.0')], { files: 40, unpackedBytes: 2 * 2 ** 20, crc64: '111' }),
  );
  await put(
    '_audit/contents/deps/v2.cdx.json',
    cycloneDx('deps', 2, [npm('lodash', '4.17.21'), npm('chalk', '5.3.0')], { files: 44, unpackedBytes: 3 * 2 ** 20, crc64: '222' }),
  );
  await put('_audit/contents/other/v1.cdx.json', cycloneDx('other', 1, [npm('lodash', '3.10.1')], { files: 5, unpackedBytes: 2 ** 20, crc64: '333' }));
  const record = (name: string, body: object) =>
    put(`_audit/records/2026-12-07/${name}.json`, { kind: 'result', finishedAt: '2026-12-07T00:00:00.000Z', ...body });
  await record('deps-1', { status: 'published', layerName: 'deps', version: 1, source: { key: 'layers/deps.zip', crc64: '111' } });
  await record('deps-1-sh', { status: 'published', layerName: 'deps', version: 3, region: 'cn-shanghai', source: { key: 'layers/deps.zip', crc64: '111' } });
  await record('deps-2', { status: 'published', layerName: 'deps', version: 2, source: { key: 'layers/deps.zip', crc64: '222' } });
  await record('deps-2-sh', { status: 'published', layerName: 'deps', version: 4, region: 'cn-shanghai', source: { key: 'layers/deps.zip', crc64: '222' } });
}

describe('layer-publisher diff', () => {
  it('prints the packages added, removed and changed, and the file count and size', async () => {
    await bucketWithContents();

    const run = await runCommand('diff', 'deps', '1', '2', ...ossFlags(env.cloud));

    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toBe(
      [
        'deps: version 1 -> 2',
        '  files:     40 -> 44',
        '  unpacked:  2.0 MiB -> 3.0 MiB',
        '  packages:  1 added, 1 removed, 1 changed',
        '  + npm chalk 5.3.0',
        '  - npm left-pad 1.3.0',
        '  ~ npm lodash 4.17.20 -> 4.17.21',
        '',
      ].join('\n'),
    );
    const json = await runCommand('diff', 'deps', '1', '2', ...ossFlags(env.cloud), '--json');
    expect(JSON.parse(json.out)).toMatchObject({ layerName: 'deps', from: 1, to: 2, added: [{ name: 'chalk', to: ['5.3.0'] }], files: { from: 40, to: 44 } });
  });

  it('names the key when a version has no recorded contents, and the argument when it is no version', async () => {
    await bucketWithContents();

    const missing = await runCommand('diff', 'deps', '1', '7', ...ossFlags(env.cloud));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no contents for deps version 7: _audit/contents/deps/v7.cdx.json is not in the bucket');

    const wrong = await runCommand('diff', 'deps', 'one', '2', ...ossFlags(env.cloud));
    expect(wrong.err).toContain('<v1> must be a layer version number (1, 2, ...), got "one"');
    expect((await runCommand('diff', 'deps', '1', ...ossFlags(env.cloud))).err).toContain('diff needs exactly 3 arguments, got 2');
  });
});

describe('layer-publisher audit --package', () => {
  it('lists every layer version holding a package in a semver range, in every region', async () => {
    await bucketWithContents();

    const run = await runCommand('audit', '--package', 'lodash@<4.17.21', ...ossFlags(env.cloud), '--json');

    expect(run.code).toBe(0);
    const rows = (JSON.parse(run.out) as { layerName: string; region: string; version: number; package: { version: string } }[]).map((holder) => [
      holder.layerName,
      holder.region,
      holder.version,
      holder.package.version,
    ]);
    expect(rows).toEqual([
      ['deps', 'cn-shanghai', 3, '4.17.20'],
      ['deps', 'home', 1, '4.17.20'],
      ['other', 'home', 1, '3.10.1'],
    ]);
  });

  it('prints a table, one layer with --layer, and says so when nothing holds it', async () => {
    await bucketWithContents();

    const table = await runCommand('audit', '--package', 'lodash', '--layer', 'deps', ...ossFlags(env.cloud));
    expect(table.out.split('\n')[0]).toMatch(/^layer\s+region\s+version\s+package\s+package version\s+path$/);
    expect(table.out.split('\n').slice(2, -1)).toHaveLength(4);
    expect(table.out).not.toContain('other');

    const none = await runCommand('audit', '--package', 'left-pad@>=2', ...ossFlags(env.cloud));
    expect(none.out).toBe('No layer version holds left-pad@>=2.\n');

    const bad = await runCommand('audit', '--package', 'lodash@<<4', ...ossFlags(env.cloud));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('"<<4" is not a semver range');
  });
});

describe('layer-publisher check', () => {
  it('shows what the version will hold before anything is uploaded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'check-contents-'));
    try {
      const zip = join(dir, 'deps.zip');
      await writeFile(
        zip,
        makeZip({
          'nodejs/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }),
          'nodejs/node_modules/@scope/util/package.json': JSON.stringify({ name: '@scope/util', version: '2.0.0' }),
          'nodejs/node_modules/left-pad/index.js': 'module.exports = (s) => s;',
        }),
      );
      await writeFile(join(dir, 'deps.layer.json'), JSON.stringify({ layerName: 'deps', compatibleRuntime: ['nodejs20'] }));

      const text = await runCommand('check', zip);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/^contents {2}3 files, \d+ bytes unpacked, in nodejs\/$/m);
      expect(text.out).toContain('packages  2 npm, 0 PyPI, 0 jar: @scope/util 2.0.0, left-pad 1.3.0\n');

      const json = JSON.parse((await runCommand('check', zip, '--json')).out) as { contents: { files: number; packages: object; found: object[] } };
      expect(json.contents).toMatchObject({ files: 3, packages: { npm: 2, pypi: 0, maven: 0 }, topLevel: ['nodejs'] });
      expect(json.contents.found).toContainEqual({
        ecosystem: 'npm',
        name: '@scope/util',
        version: '2.0.0',
        path: 'nodejs/node_modules/@scope/util/package.json',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
