import { copyOf } from './bytes';
import type { ZipEntry } from './entry';
import { type PomProperties, readPomProperties } from './jar';

/**
 * The most of one package file (package.json, METADATA, PKG-INFO) kept while its entry streams by. A
 * package.json past it is skipped and counted, never buffered; of METADATA and PKG-INFO, whose headers
 * come first and whose long description follows, only this much is read.
 */
export const MAX_PACKAGE_FILE_BYTES = 64 * 1024;

/**
 * The most of one jar held in memory, to read the pom.properties inside it: a jar larger than this is
 * listed by its file name and counted in `skipped`, never buffered. Most library jars are well under it.
 */
export const MAX_JAR_BYTES = 8 * 1024 * 1024;

export type Ecosystem = 'npm' | 'pypi' | 'maven';

/** One package found in the layer, where its files say it is. */
export interface FoundPackage {
  readonly ecosystem: Ecosystem;
  readonly name: string;
  /** A Maven groupId, from a jar's pom.properties. */
  readonly group?: string;
  /** Absent only for a jar whose file name carries no version. */
  readonly version?: string;
  /**
   * Package URL (purl-spec): pkg:npm/%40scope/name@1.2.3, pkg:pypi/name@1.0, pkg:maven/group/artifact@1.0,
   * pkg:generic/<jar file name>.
   */
  readonly purl: string;
  /** The file in the zip that says so; inside a jar, `<jar path>!/<path in the jar>`. */
  readonly path: string;
}

export interface FoundPackages {
  readonly packages: readonly FoundPackage[];
  /**
   * Package files not read: larger than MAX_PACKAGE_FILE_BYTES (a jar: MAX_JAR_BYTES), not the JSON or
   * headers they should be, a jar that is not a zip, or a jar met while another was held.
   */
  readonly skipped: number;
}

/** Collects a package file's first bytes as its entry is unpacked. */
export interface PackageTap {
  add(bytes: Uint8Array): void;
  /** After the entry's CRC-32 and size are checked: its bytes are what FC unpacks. */
  finish(): void;
}

type Kind = 'npm' | 'pypi';

/**
 * nodejs/node_modules/<pkg>/package.json, scoped (@scope/name) and nested (<pkg>/node_modules/<dep>),
 * and no other package.json: the one inside a package's own folders (lib/package.json marking ESM) is
 * not a package.
 */
const NPM_MANIFEST = /^nodejs\/node_modules\/(?:(?:@[^/]+\/)?[^@/.][^/]*\/node_modules\/)*(?:@[^/]+\/)?[^@/.][^/]*\/package\.json$/;
const PYPI_METADATA = /^python\/(?:.+\/)?[^/]+\.(?:dist-info\/METADATA|egg-info\/PKG-INFO)$/;
const JAR = /^java\/lib\/([^/]+\.jar)$/;

/**
 * The packages a layer holds, gathered from the entries of the one read that checks them. Shared by the
 * runs of entries read at once; the order they finish in does not show in `result()`.
 */
export class PackageCollector {
  private readonly packages: FoundPackage[] = [];
  private skipped = 0;

  /** Whether a jar's bytes are being held: one at a time, across the runs of entries read at once. */
  private holdingJar = false;

  /**
   * A tap for an entry that is a package file, undefined for any other. A jar is held whole, up to
   * MAX_JAR_BYTES, to read its pom.properties once it is checked; a larger one, or one met while another
   * jar is held by a run read at the same time, is listed by its name and counted in `skipped`.
   */
  tap(entry: ZipEntry): PackageTap | undefined {
    if (entry.symlink || entry.name.endsWith('/')) return undefined;
    const jar = JAR.exec(entry.name)?.[1];
    if (jar !== undefined) {
      if (entry.uncompressedSize > MAX_JAR_BYTES || this.holdingJar) {
        this.skipped += 1;
        this.packages.push(jarPackage(jar, entry.name));
        return undefined;
      }
      this.holdingJar = true;
      return new Tap(MAX_JAR_BYTES, (bytes) => {
        this.holdingJar = false;
        this.addJar(jar, entry.name, bytes);
      });
    }
    const kind: Kind | undefined = NPM_MANIFEST.test(entry.name) ? 'npm' : PYPI_METADATA.test(entry.name) ? 'pypi' : undefined;
    if (kind === undefined) return undefined;
    if (kind === 'npm' && entry.uncompressedSize > MAX_PACKAGE_FILE_BYTES) {
      this.skipped += 1;
      return undefined;
    }
    return new Tap(MAX_PACKAGE_FILE_BYTES, (bytes) => {
      const text = utf8.decode(bytes);
      const found = kind === 'npm' ? npmPackage(text, entry.name) : pypiPackage(text, entry.name);
      if (found === undefined) this.skipped += 1;
      else this.packages.push(found);
    });
  }

  /** A jar's Maven artifacts, or its file name when it holds none; a jar that is no zip is not the layer's fault. */
  private addJar(file: string, path: string, bytes: Uint8Array): void {
    let poms: PomProperties[];
    try {
      poms = readPomProperties(bytes, MAX_PACKAGE_FILE_BYTES);
    } catch {
      this.skipped += 1;
      this.packages.push(jarPackage(file, path));
      return;
    }
    if (poms.length === 0) this.packages.push(jarPackage(file, path));
    for (const pom of poms) this.packages.push(mavenPackage(pom, path));
  }

  result(): FoundPackages {
    const packages = [...this.packages].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { packages, skipped: this.skipped };
  }
}

/** Keeps an entry's first `cap` bytes as it is unpacked, and hands them on once the entry is checked. */
class Tap implements PackageTap {
  private readonly parts: Uint8Array[] = [];
  private kept = 0;

  constructor(
    private readonly cap: number,
    private readonly done: (bytes: Uint8Array) => void,
  ) {}

  add(bytes: Uint8Array): void {
    if (this.kept >= this.cap) return;
    // A copy, so that the socket chunk or inflater output it lies in is not held.
    const kept = copyOf(bytes.subarray(0, this.cap - this.kept));
    this.parts.push(kept);
    this.kept += kept.length;
  }

  finish(): void {
    this.done(Buffer.concat(this.parts, this.kept));
  }
}

const utf8 = new TextDecoder('utf-8');

function npmPackage(text: string, path: string): FoundPackage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { name, version } = parsed as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') return undefined;
  const scoped = /^(@[^/]+)\/([^/]+)$/.exec(name);
  const purlName = scoped ? `${encode(scoped[1]!)}/${encode(scoped[2]!)}` : encode(name);
  return { ecosystem: 'npm', name, version, purl: `pkg:npm/${purlName}@${encode(version)}`, path };
}

/** Core metadata (PEP 566 / PEP 314): RFC 822 headers up to the first empty line; Name and Version. */
function pypiPackage(text: string, path: string): FoundPackage | undefined {
  const end = text.search(/\r?\n\r?\n/);
  if (end === -1 && text.length >= MAX_PACKAGE_FILE_BYTES) return undefined;
  const headers = end === -1 ? text : text.slice(0, end);
  const field = (key: string) => new RegExp(`^${key}:[ \\t]*(.+?)[ \\t]*$`, 'mi').exec(headers)?.[1];
  const name = field('Name');
  const version = field('Version');
  if (name === undefined || version === undefined) return undefined;
  // purl-spec: PyPI names are lower-cased, with underscores as dashes.
  const purlName = encode(name.toLowerCase().replace(/[-_.]+/g, '-'));
  return { ecosystem: 'pypi', name, version, purl: `pkg:pypi/${purlName}@${encode(version)}`, path };
}

/** `commons-lang3-3.12.0.jar`: the name and version its file name gives, Maven's `<artifact>-<version>.jar`. */
function jarPackage(file: string, path: string): FoundPackage {
  const named = /^(.+?)-(\d[^/]*)\.jar$/.exec(file);
  const purl = `pkg:generic/${encode(file)}`;
  if (named === null) return { ecosystem: 'maven', name: file.slice(0, -'.jar'.length), purl, path };
  return { ecosystem: 'maven', name: named[1]!, version: named[2]!, purl, path };
}

/** `pkg:maven/<groupId>/<artifactId>@<version>`, found at `<jar path>!/META-INF/maven/.../pom.properties`. */
function mavenPackage(pom: PomProperties, jarPath: string): FoundPackage {
  const purl = `pkg:maven/${encode(pom.groupId)}/${encode(pom.artifactId)}@${encode(pom.version)}`;
  return { ecosystem: 'maven', name: pom.artifactId, group: pom.groupId, version: pom.version, purl, path: `${jarPath}!/${pom.path}` };
}

/** purl-spec percent-encoding: anything but letters, digits and `.-_~`. */
function encode(part: string): string {
  return encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
