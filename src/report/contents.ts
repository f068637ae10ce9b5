import * as z from 'zod/mini';
import { describeIssues } from '../validation';

/**
 * What a layer version holds, read back from the CycloneDX 1.6 document the publisher writes for it at
 * `<AUDIT_PREFIX>contents/<layerName>/v<version>.cdx.json` (docs/contents-use.md): its packages, its file
 * count and unpacked size; and what changed between two of them. Only the fields read here are
 * required, so a document with more (a newer publisher's, another tool's additions) still reads.
 */

export type Ecosystem = 'npm' | 'pypi' | 'maven' | 'generic';

export interface ContentsPackage {
  ecosystem: Ecosystem | string;
  name: string;
  /** Absent for a jar without pom.properties: its file name is all that is known. */
  version: string | undefined;
  purl: string;
  /** The file in the zip it was read from. */
  path: string | undefined;
}

export interface VersionContents {
  /** The key it was read from. */
  key: string;
  layerName: string;
  /** The home region's version number. */
  version: number;
  /** The zip's CRC-64 (FC's codeChecksum): what ties the version to the other regions' copies. */
  crc64: string | undefined;
  files: number | undefined;
  unpackedBytes: number | undefined;
  packages: ContentsPackage[];
}

const propertySchema = z.object({ name: z.string(), value: z.string() });
const properties = z.optional(z.array(propertySchema));

const documentSchema = z.looseObject({
  bomFormat: z.literal('CycloneDX'),
  metadata: z.looseObject({
    component: z.looseObject({ name: z.string(), version: z.string(), properties }),
    properties,
  }),
  components: z.optional(
    z.array(
      z.looseObject({
        name: z.string(),
        version: z.optional(z.string()),
        purl: z.string(),
        properties,
      }),
    ),
  ),
});

/** The property naming the file in the zip a component was found in. */
const PATH_PROPERTY = 'cdx:layer:path';

/** Reads one document; the error names the key and the field that is not what the publisher writes. */
export function parseContents(key: string, body: unknown): VersionContents {
  const parsed = documentSchema.safeParse(body);
  if (!parsed.success) throw new Error(`${key} is not a CycloneDX document the publisher wrote: ${describeIssues(parsed.error.issues)}`);
  const { metadata, components = [] } = parsed.data;
  const version = Number(metadata.component.version);
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new Error(`${key}: metadata.component.version must be a layer version number, got ${JSON.stringify(metadata.component.version)}`);
  }
  const property = (list: z.infer<typeof properties>, name: string) => list?.find((entry) => entry.name === name)?.value;
  const count = (name: string) => {
    const value = Number(property(metadata.properties, name));
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  };
  return {
    key,
    layerName: metadata.component.name,
    version,
    crc64: property(metadata.component.properties, 'cdx:layer:crc64'),
    files: count('cdx:layer:files'),
    unpackedBytes: count('cdx:layer:unpackedBytes'),
    packages: components.map((component) => ({
      ecosystem: /^pkg:([^/]+)\//.exec(component.purl)?.[1] ?? 'generic',
      name: component.name,
      version: component.version,
      purl: component.purl,
      path: property(component.properties, PATH_PROPERTY),
    })),
  };
}

export interface PackageChange {
  ecosystem: string;
  name: string;
  /** Every version of it in the older layer version (a package may lie at two paths). */
  from: string[];
  to: string[];
}

export interface ContentsDiff {
  layerName: string;
  from: number;
  to: number;
  added: PackageChange[];
  removed: PackageChange[];
  changed: PackageChange[];
  files: { from: number | undefined; to: number | undefined };
  unpackedBytes: { from: number | undefined; to: number | undefined };
}

/** What changed from one version's contents to another's: packages by ecosystem and name, their versions as sets. */
export function diffContents(from: VersionContents, to: VersionContents): ContentsDiff {
  const before = versionsByPackage(from.packages);
  const after = versionsByPackage(to.packages);
  const added: PackageChange[] = [];
  const removed: PackageChange[] = [];
  const changed: PackageChange[] = [];
  for (const [id, versions] of after) {
    const old = before.get(id);
    const change = { ...splitId(id), from: old ?? [], to: versions };
    if (old === undefined) added.push(change);
    else if (old.join('\n') !== versions.join('\n')) changed.push(change);
  }
  for (const [id, versions] of before) if (!after.has(id)) removed.push({ ...splitId(id), from: versions, to: [] });
  return {
    layerName: to.layerName,
    from: from.version,
    to: to.version,
    added,
    removed,
    changed,
    files: { from: from.files, to: to.files },
    unpackedBytes: { from: from.unpackedBytes, to: to.unpackedBytes },
  };
}

/** A package's identity is its ecosystem and name; a jar without a version is listed as `-`. */
function versionsByPackage(packages: readonly ContentsPackage[]): Map<string, string[]> {
  const byId = new Map<string, Set<string>>();
  for (const found of packages) {
    const id = `${found.ecosystem}\u0000${found.name}`;
    const versions = byId.get(id) ?? new Set<string>();
    versions.add(found.version ?? '-');
    byId.set(id, versions);
  }
  return new Map([...byId].sort(([a], [b]) => a.localeCompare(b)).map(([id, versions]) => [id, [...versions].sort()]));
}

function splitId(id: string): { ecosystem: string; name: string } {
  const [ecosystem = '', name = ''] = id.split('\u0000');
  return { ecosystem, name };
}

/** Whether a diff says nothing changed in the packages, the file count or the size. */
export function isEmptyDiff(diff: ContentsDiff): boolean {
  return (
    diff.added.length + diff.removed.length + diff.changed.length === 0 &&
    diff.files.from === diff.files.to &&
    diff.unpackedBytes.from === diff.unpackedBytes.to
  );
}

/** The one-line summary of each change, shared by `layer-publisher diff` and the HTML report. */
export function changeLines(diff: ContentsDiff): string[] {
  const versions = (list: readonly string[]) => list.join(', ');
  return [
    ...diff.added.map((change) => `+ ${change.ecosystem} ${change.name} ${versions(change.to)}`),
    ...diff.removed.map((change) => `- ${change.ecosystem} ${change.name} ${versions(change.from)}`),
    ...diff.changed.map((change) => `~ ${change.ecosystem} ${change.name} ${versions(change.from)} -> ${versions(change.to)}`),
  ];
}
