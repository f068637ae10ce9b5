import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CycloneDxBom } from '../../src/audit/cyclonedx';
import { TEST_BUCKET, useMswCloud, type TestCloud } from '../support/cloud';
import { manifestBytes } from '../support/layers';
import { deflatedZeros, oneEntryZip, zerosBomb } from '../fixtures/zips/bomb';
import { javaPackagesZip, nodePackagesZip, pythonPackagesZip } from '../fixtures/zips/package-layers';
import { invoke, readResult } from './helpers';

const env = useMswCloud();
const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

async function publishPair(cloud: TestCloud, stem: string, zip: Buffer, manifest: unknown, options: { env?: Record<string, string> } = {}) {
  await cloud.oss.putObject(TEST_BUCKET, `layers/${stem}.zip`, zip);
  await cloud.oss.putObject(TEST_BUCKET, `layers/${stem}.layer.json`, manifestBytes(manifest));
  const event = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `layers/${stem}.zip`);
  const run = await invoke([event], options);
  return { run, event, result: await readResult(cloud, `layers/${stem}.result.json`) };
}

async function readDocument(cloud: TestCloud, key: string): Promise<{ text: string; bom: CycloneDxBom }> {
  const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
  expect(bytes, `no object at ${key}`).toBeDefined();
  const text = Buffer.from(bytes!).toString('utf8');
  return { text, bom: JSON.parse(text) as CycloneDxBom };
}

describe('what is inside every version (the result and a CycloneDX document)', () => {
  it('a Node.js layer: its packages in the result, and a CycloneDX 1.6 document the schema accepts; written once', async () => {
    const { cloud } = env;
    const { run, event, result } = await publishPair(cloud, 'node-pkgs', nodePackagesZip(), { layerName: 'node_pkgs', compatibleRuntime: ['nodejs20'] });
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(result?.contents).toEqual({
      files: 9,
      unpackedBytes: expect.any(Number),
      topLevel: ['nodejs'],
      packages: { npm: 4, pypi: 0, maven: 0 },
      skipped: 2,
      sbom: '_audit/contents/node_pkgs/v1.cdx.json',
    });
    const { text, bom } = await readDocument(cloud, '_audit/contents/node_pkgs/v1.cdx.json');
    expect(await validator.validate(text)).toBeNull();
    expect(bom.metadata.component).toMatchObject({ name: 'node_pkgs', version: '1' });
    expect(bom.metadata.component.properties).toContainEqual({ name: 'cdx:layer:arn', value: result!.arn });
    expect(bom.components.map((component) => component.purl)).toEqual([
      'pkg:npm/tslib@2.6.2',
      'pkg:npm/%40aws-sdk/client-s3@3.400.0',
      'pkg:npm/left-pad@1.3.0',
      'pkg:npm/%40types/node@20.1.0%2Bbuild.1',
    ]);
    expect(bom.components[2]).toMatchObject({
      type: 'library',
      name: 'left-pad',
      version: '1.3.0',
      properties: [{ name: 'cdx:layer:path', value: 'nodejs/node_modules/left-pad/package.json' }],
    });

    // A redelivery: the same story, and the document as it was (the first one stays).
    const again = await invoke([event]);
    expect(again.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect((await readResult(cloud, 'layers/node-pkgs.result.json'))?.contents).toEqual(result?.contents);
    expect((await readDocument(cloud, '_audit/contents/node_pkgs/v1.cdx.json')).text).toBe(text);
  });

  it('a Python layer: dist-info and egg-info packages, validated the same way', async () => {
    const { cloud } = env;
    const { result } = await publishPair(cloud, 'py-pkgs', pythonPackagesZip(), { layerName: 'py_pkgs', compatibleRuntime: ['python3.10'] });
    expect(result).toMatchObject({ status: 'published', contents: { topLevel: ['python'], packages: { npm: 0, pypi: 3, maven: 0 }, skipped: 1 } });
    const { text, bom } = await readDocument(cloud, result!.contents!.sbom!);
    expect(await validator.validate(text)).toBeNull();
    expect(bom.components.map((component) => `${component.name}@${component.version}`)).toEqual(['Foo_Bar@0.1', 'PyYAML@6.0.1', 'requests@2.31.0']);
  });

  it('a Java layer: the Maven artifacts of its jars\u2019 pom.properties, the others by name; a corrupt jar is no verdict on the layer', async () => {
    const { cloud } = env;
    const { result } = await publishPair(cloud, 'java-pkgs', javaPackagesZip(), { layerName: 'java_pkgs', compatibleRuntime: ['java11'] });
    // tool.jar is no zip: counted, and the layer published all the same.
    expect(result).toMatchObject({ status: 'published', contents: { topLevel: ['java'], packages: { npm: 0, pypi: 0, maven: 5 }, skipped: 1 } });
    const { text, bom } = await readDocument(cloud, result!.contents!.sbom!);
    expect(await validator.validate(text)).toBeNull();
    expect(bom.components.map((component) => component.purl)).toEqual([
      'pkg:generic/commons-lang3-3.12.0.jar',
      'pkg:maven/org.example/demo@1.2.3',
      'pkg:maven/com.google.guava/guava@33.0.0-jre',
      'pkg:maven/org.example/app@2.0',
      'pkg:generic/tool.jar',
    ]);
    expect(bom.components[1]).toEqual({
      type: 'library',
      'bom-ref': 'java/lib/demo-1.2.3.jar!/META-INF/maven/org.example/demo/pom.properties',
      group: 'org.example',
      name: 'demo',
      version: '1.2.3',
      purl: 'pkg:maven/org.example/demo@1.2.3',
      properties: [{ name: 'cdx:layer:path', value: 'java/lib/demo-1.2.3.jar!/META-INF/maven/org.example/demo/pom.properties' }],
    });
  });

  it('an unchanged upload of the same bytes names the first document and leaves it as it was', async () => {
    const { cloud } = env;
    const zip = nodePackagesZip();
    const manifest = { layerName: 'node_pkgs', compatibleRuntime: ['nodejs20'] };
    const first = await publishPair(cloud, 'node-pkgs', zip, manifest);
    const { text } = await readDocument(cloud, first.result!.contents!.sbom!);
    const second = await publishPair(cloud, 'node-pkgs-again', zip, manifest);
    expect(second.result).toMatchObject({ status: 'unchanged', version: 1, contents: { ...first.result!.contents } });
    expect((await readDocument(cloud, first.result!.contents!.sbom!)).text).toBe(text);
  });

  it('a document OSS will not take leaves the version published, with the summary and without sbom', async () => {
    const { cloud } = env;
    cloud.oss.faults.inject({
      match: (target) => target.method === 'PUT' && target.key.startsWith('_audit/contents/'),
      status: 403,
      code: 'AccessDenied',
      times: Infinity,
    });
    const { run, result } = await publishPair(cloud, 'node-pkgs', nodePackagesZip(), { layerName: 'node_pkgs', compatibleRuntime: ['nodejs20'] });
    expect(run.error).toBeUndefined();
    expect(result).toMatchObject({ status: 'published', version: 1, contents: { packages: { npm: 4 } } });
    expect(result?.contents?.sbom).toBeUndefined();
    expect(run.lines.filter((line) => line.step === 'contents.write.failed')).toHaveLength(1);
  });

  it('a document the schema refuses is caught by the validation used above', async () => {
    const { cloud } = env;
    const { result } = await publishPair(cloud, 'node-pkgs', nodePackagesZip(), { layerName: 'node_pkgs', compatibleRuntime: ['nodejs20'] });
    const { bom } = await readDocument(cloud, result!.contents!.sbom!);
    const broken = { ...bom, components: bom.components.map((component) => ({ ...component, type: 'package' })) };
    expect(await validator.validate(JSON.stringify(broken))).not.toBeNull();
  });
});

describe('zip bombs through the handler', () => {
  it('an honest bomb is failed ZipTooLarge, nothing published, no document', async () => {
    const { cloud } = env;
    const { run, result } = await publishPair(cloud, 'bomb', zerosBomb(4096), { layerName: 'bomb', compatibleRuntime: ['custom'] });
    expect(run.error).toBeUndefined();
    expect(result).toMatchObject({ status: 'failed', error: { code: 'ZipTooLarge', retryable: false, message: expect.stringContaining('layers/bomb.zip') } });
    expect(result?.contents).toBeUndefined();
    expect(cloud.fc.versions('bomb')).toHaveLength(0);
  });

  it('MAX_UNPACKED_BYTES from the environment holds a lying archive to it', async () => {
    const { cloud } = env;
    const declared = Buffer.alloc(100);
    const liar = oneEntryZip('lib/zeros.bin', deflatedZeros(16), declared.length, crc32(declared));
    const { result } = await publishPair(
      cloud,
      'liar',
      liar,
      { layerName: 'liar', compatibleRuntime: ['custom'] },
      { env: { MAX_UNPACKED_BYTES: String(4 * 1024 * 1024) } },
    );
    expect(result?.error).toMatchObject({
      code: 'ZipTooLarge',
      message: expect.stringContaining('MAX_UNPACKED_BYTES (4194304 bytes (4.0 MiB)), though its central directory declares 100 bytes'),
    });
    expect(cloud.fc.versions('liar')).toHaveLength(0);
  });
});
