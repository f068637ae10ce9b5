/**
 * CycloneDX 1.6 documents in the shape the publisher writes per version (docs/contents-use.md): the
 * layer and version in metadata.component, its file count and unpacked size in metadata.properties, one
 * `library` component per package with its purl and the file it was read from. Written out by hand here,
 * so the readers are tested against the documented shape rather than against the writer's own code.
 */

export interface FixturePackage {
  /** `pkg:npm/%40scope/name@1.2.3`, `pkg:pypi/name@1.0`, `pkg:maven/group/artifact@1.0`, `pkg:generic/x.jar`. */
  purl: string;
  name: string;
  version?: string;
  path: string;
}

export function npm(name: string, version: string, path = `nodejs/node_modules/${name}/package.json`): FixturePackage {
  const encoded = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return { purl: `pkg:npm/${encoded}@${version}`, name, version, path };
}

export function pypi(name: string, version: string): FixturePackage {
  return { purl: `pkg:pypi/${name.toLowerCase()}@${version}`, name, version, path: `python/${name}-${version}.dist-info/METADATA` };
}

export function cycloneDx(
  layerName: string,
  version: number,
  packages: readonly FixturePackage[],
  facts: { files: number; unpackedBytes: number; crc64: string },
): object {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
    version: 1,
    metadata: {
      timestamp: '2026-12-07T00:00:00.000Z',
      tools: { components: [{ type: 'application', name: 'oss-layer-publisher' }] },
      component: {
        type: 'library',
        'bom-ref': 'layer',
        name: layerName,
        version: String(version),
        properties: [
          { name: 'cdx:layer:crc64', value: facts.crc64 },
          { name: 'cdx:layer:source', value: `oss://team-layers/layers/${layerName}.zip` },
        ],
      },
      properties: [
        { name: 'cdx:layer:files', value: String(facts.files) },
        { name: 'cdx:layer:unpackedBytes', value: String(facts.unpackedBytes) },
        { name: 'cdx:layer:topLevel', value: 'nodejs' },
        { name: 'cdx:layer:skipped', value: '0' },
      ],
    },
    components: packages.map((found) => ({
      type: 'library',
      'bom-ref': found.path,
      name: found.name,
      ...(found.version === undefined ? {} : { version: found.version }),
      purl: found.purl,
      properties: [{ name: 'cdx:layer:path', value: found.path }],
    })),
  };
}
