import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { zipSync } from 'fflate';
import { MAX_JAR_BYTES, MAX_PACKAGE_FILE_BYTES, MIN_TAIL_BYTES, readArchive } from '../../src/zip';
import { jar, javaPackagesZip, nodePackagesZip, pythonPackagesZip } from '../fixtures/zips/package-layers';
import { memorySource, read } from './helpers';

describe('the packages a layer holds, gathered in the read that checks it', () => {
  it('Node.js: every package.json at a package root, scoped and nested; a package\u2019s own lib/package.json is none', async () => {
    const archive = await read(nodePackagesZip(), [1000, 65_536, 7]);
    // In the order of their paths, whatever the order in the zip.
    expect(archive.packages?.packages).toEqual([
      {
        ecosystem: 'npm',
        name: 'tslib',
        version: '2.6.2',
        purl: 'pkg:npm/tslib@2.6.2',
        path: 'nodejs/node_modules/@aws-sdk/client-s3/node_modules/tslib/package.json',
      },
      {
        ecosystem: 'npm',
        name: '@aws-sdk/client-s3',
        version: '3.400.0',
        purl: 'pkg:npm/%40aws-sdk/client-s3@3.400.0',
        path: 'nodejs/node_modules/@aws-sdk/client-s3/package.json',
      },
      { ecosystem: 'npm', name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0', path: 'nodejs/node_modules/left-pad/package.json' },
      {
        ecosystem: 'npm',
        name: '@types/node',
        version: '20.1.0+build.1',
        purl: 'pkg:npm/%40types/node@20.1.0%2Bbuild.1',
        path: 'nodejs/node_modules/lodash/node_modules/@types/node/package.json',
      },
    ]);
    // old/package.json is past the cap (not read), broken/package.json is not JSON.
    expect(archive.packages?.skipped).toBe(2);
    expect(archive.unpackedBytes).toBeGreaterThan(70 * 1024);
  });

  it('Python: dist-info METADATA anywhere under python/, egg-info PKG-INFO; a long METADATA is read up to its headers', async () => {
    const archive = await read(pythonPackagesZip());
    expect(archive.packages?.packages).toEqual([
      { ecosystem: 'pypi', name: 'Foo_Bar', version: '0.1', purl: 'pkg:pypi/foo-bar@0.1', path: 'python/Foo_Bar.egg-info/PKG-INFO' },
      {
        ecosystem: 'pypi',
        name: 'PyYAML',
        version: '6.0.1',
        purl: 'pkg:pypi/pyyaml@6.0.1',
        path: 'python/lib/python3.10/site-packages/PyYAML-6.0.1.dist-info/METADATA',
      },
      { ecosystem: 'pypi', name: 'requests', version: '2.31.0', purl: 'pkg:pypi/requests@2.31.0', path: 'python/requests-2.31.0.dist-info/METADATA' },
    ]);
    expect(archive.unpackedBytes).toBeGreaterThan(MAX_PACKAGE_FILE_BYTES);
    // The METADATA without a Name.
    expect(archive.packages?.skipped).toBe(1);
  });

  it('Java: the Maven artifacts in each java/lib/ jar\u2019s pom.properties (several in a shaded jar), else the jar\u2019s name', async () => {
    const archive = await read(javaPackagesZip(), [1000, 65_536, 7]);
    expect(archive.packages).toEqual({
      packages: [
        {
          ecosystem: 'maven',
          name: 'commons-lang3',
          version: '3.12.0',
          purl: 'pkg:generic/commons-lang3-3.12.0.jar',
          path: 'java/lib/commons-lang3-3.12.0.jar',
        },
        {
          ecosystem: 'maven',
          group: 'org.example',
          name: 'demo',
          version: '1.2.3',
          purl: 'pkg:maven/org.example/demo@1.2.3',
          path: 'java/lib/demo-1.2.3.jar!/META-INF/maven/org.example/demo/pom.properties',
        },
        {
          ecosystem: 'maven',
          group: 'com.google.guava',
          name: 'guava',
          version: '33.0.0-jre',
          purl: 'pkg:maven/com.google.guava/guava@33.0.0-jre',
          path: 'java/lib/shaded.jar!/META-INF/maven/com.google.guava/guava/pom.properties',
        },
        {
          ecosystem: 'maven',
          group: 'org.example',
          name: 'app',
          version: '2.0',
          purl: 'pkg:maven/org.example/app@2.0',
          path: 'java/lib/shaded.jar!/META-INF/maven/org.example/app/pom.properties',
        },
        { ecosystem: 'maven', name: 'tool', purl: 'pkg:generic/tool.jar', path: 'java/lib/tool.jar' },
      ],
      // tool.jar is no zip: listed by its name, and counted.
      skipped: 1,
    });
  });

  it('Java: a jar over MAX_JAR_BYTES is listed by its name and counted, never held', async () => {
    const big = jar([{ groupId: 'org.example', artifactId: 'big', version: '1.0' }], { 'blob.bin': randomBytes(MAX_JAR_BYTES) });
    const zip = zipSync({ 'java/lib/big-1.0.jar': big, 'java/lib/small.jar': jar([{ groupId: 'org.example', artifactId: 'small', version: '0.1' }]) });
    const archive = await read(zip, [], { concurrency: 1 });
    expect(archive.packages).toEqual({
      packages: [
        { ecosystem: 'maven', name: 'big', version: '1.0', purl: 'pkg:generic/big-1.0.jar', path: 'java/lib/big-1.0.jar' },
        {
          ecosystem: 'maven',
          group: 'org.example',
          name: 'small',
          version: '0.1',
          purl: 'pkg:maven/org.example/small@0.1',
          path: 'java/lib/small.jar!/META-INF/maven/org.example/small/pom.properties',
        },
      ],
      skipped: 1,
    });
  });

  it('Java: holds one jar at a time; a jar met meanwhile by a run read at once is listed by its name and counted', async () => {
    // Two runs of at least 8 MiB, each starting at a 6 MiB jar: read at once, their jars stream side by side.
    const big = (artifactId: string): [Uint8Array, { level: 0 }] => [
      jar([{ groupId: 'org.example', artifactId, version: '1.0' }], { 'blob.bin': randomBytes(6 * 1024 * 1024) }),
      { level: 0 },
    ];
    const zip = zipSync({
      'java/lib/a.jar': big('a'),
      'java/lib/a.bin': [randomBytes(3 * 1024 * 1024), { level: 0 }],
      'java/lib/b.jar': big('b'),
      'java/lib/b.bin': [randomBytes(3 * 1024 * 1024), { level: 0 }],
    });
    const one = await read(zip, [], { concurrency: 1 });
    expect(one.packages).toMatchObject({ packages: [{ purl: 'pkg:maven/org.example/a@1.0' }, { purl: 'pkg:maven/org.example/b@1.0' }], skipped: 0 });
    const { source, ranges } = memorySource(zip, [65_536], 2);
    const both = await readArchive(source, { tailBytes: MIN_TAIL_BYTES });
    expect(ranges.length).toBeGreaterThan(2);
    const purls = both.packages?.packages.map((found) => found.purl).sort();
    expect(purls).toHaveLength(2);
    expect(purls!.filter((purl) => purl.startsWith('pkg:maven/'))).toHaveLength(1);
    expect(purls!.filter((purl) => purl.startsWith('pkg:generic/'))).toHaveLength(1);
    expect(both.packages?.skipped).toBe(1);
  });

  it('finds the same packages however the runs of entries are cut and read at once', async () => {
    // 9 MiB of stored noise between packages: runs of at least 8 MiB are read at once.
    const noise = (seed: number) => [new Uint8Array(9 * 1024 * 1024).fill(seed), { level: 0 }] as const;
    const files: Record<string, Uint8Array | readonly [Uint8Array, { level: 0 }]> = {};
    ['a', 'b', 'c', 'd'].forEach((name, index) => {
      files[`nodejs/node_modules/${name}/package.json`] = new TextEncoder().encode(JSON.stringify({ name, version: `${index}.0.0` }));
      files[`nodejs/node_modules/${name}/blob.bin`] = noise(index);
    });
    const zip = zipSync(files as Parameters<typeof zipSync>[0]);
    const whole = await read(zip, [], { concurrency: 1 });
    const { source, ranges } = memorySource(zip, [3, 500, 65_536], 4);
    const cut = await readArchive(source, { tailBytes: MIN_TAIL_BYTES });
    expect(ranges.length).toBeGreaterThan(3);
    expect(whole.packages?.packages.map((found) => found.purl)).toEqual(['pkg:npm/a@0.0.0', 'pkg:npm/b@1.0.0', 'pkg:npm/c@2.0.0', 'pkg:npm/d@3.0.0']);
    expect(cut.packages).toEqual(whole.packages);
  });

  it('gathers nothing when asked not to, or when the entries are not checked', async () => {
    expect((await read(nodePackagesZip(), [], { gatherContents: false })).packages).toBeUndefined();
    expect((await read(nodePackagesZip(), [], { verifyEntries: false })).packages).toBeUndefined();
  });
});
