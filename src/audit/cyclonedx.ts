import { randomUUID } from 'node:crypto';
import type { ContentsSummary } from '../result/document';
import type { Ecosystem, FoundPackage, FoundPackages, ZipContents } from '../zip';

/**
 * What is inside one layer version, as a CycloneDX 1.6 JSON document (https://cyclonedx.org/docs/1.6/json/)
 * in the audit trail, and as the summary the result carries. Built here, with only the fields written:
 * @cyclonedx/cyclonedx-library only validates it, in the tests, and stays out of the function's bundle.
 */

/** What the archive read learned: its layout, its unpacked size, the packages in it. */
export interface ReadContents {
  contents: ZipContents;
  unpackedBytes: number;
  packages?: FoundPackages | undefined;
}

/** The version the document describes. */
export interface VersionFacts {
  layerName: string;
  version: number;
  arn?: string | undefined;
  /** The zip's CRC-64, FC's codeChecksum. */
  crc64?: string | undefined;
  source: { bucket: string; key: string; etag?: string | undefined };
  timestamp: string;
}

export interface CycloneDxProperty {
  name: string;
  value: string;
}

export interface CycloneDxComponent {
  type: 'library';
  'bom-ref': string;
  group?: string;
  name: string;
  version?: string;
  purl: string;
  properties: CycloneDxProperty[];
}

export interface CycloneDxBom {
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string }[] };
    component: { type: 'library'; 'bom-ref': string; name: string; version: string; properties: CycloneDxProperty[] };
    properties: CycloneDxProperty[];
  };
  components: CycloneDxComponent[];
}

export function summarizeContents(read: ReadContents): ContentsSummary {
  const packages: Record<Ecosystem, number> = { npm: 0, pypi: 0, maven: 0 };
  for (const found of read.packages?.packages ?? []) packages[found.ecosystem] += 1;
  return {
    files: read.contents.layout.fileCount,
    unpackedBytes: read.unpackedBytes,
    topLevel: read.contents.layout.topLevel.filter((name) => name.endsWith('/')).map((name) => name.slice(0, -1)),
    packages,
    skipped: read.packages?.skipped ?? 0,
  };
}

/** The property naming the file in the zip that a component was found in. */
export const PATH_PROPERTY = 'cdx:layer:path';

export function cycloneDxDocument(read: ReadContents, facts: VersionFacts): CycloneDxBom {
  const summary = summarizeContents(read);
  const layerProperties: CycloneDxProperty[] = [
    ...(facts.arn === undefined ? [] : [{ name: 'cdx:layer:arn', value: facts.arn }]),
    ...(facts.crc64 === undefined ? [] : [{ name: 'cdx:layer:crc64', value: facts.crc64 }]),
    { name: 'cdx:layer:source', value: `oss://${facts.source.bucket}/${facts.source.key}` },
    ...(facts.source.etag === undefined ? [] : [{ name: 'cdx:layer:etag', value: facts.source.etag }]),
  ];
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: facts.timestamp,
      tools: { components: [{ type: 'application', name: 'oss-layer-publisher' }] },
      component: { type: 'library', 'bom-ref': 'layer', name: facts.layerName, version: String(facts.version), properties: layerProperties },
      properties: [
        { name: 'cdx:layer:files', value: String(summary.files) },
        { name: 'cdx:layer:unpackedBytes', value: String(summary.unpackedBytes) },
        { name: 'cdx:layer:topLevel', value: summary.topLevel.join(',') },
        { name: 'cdx:layer:skipped', value: String(summary.skipped) },
      ],
    },
    components: (read.packages?.packages ?? []).map(componentOf),
  };
}

function componentOf(found: FoundPackage): CycloneDxComponent {
  return {
    type: 'library',
    // The path is unique in a zip; the same package may lie at two paths (nested node_modules).
    'bom-ref': found.path,
    ...(found.group === undefined ? {} : { group: found.group }),
    name: found.name,
    ...(found.version === undefined ? {} : { version: found.version }),
    purl: found.purl,
    properties: [{ name: PATH_PROPERTY, value: found.path }],
  };
}
