import * as zlib from 'node:zlib';
import { SIGNATURE, hasSignature, readUint16, zipInvalid } from './bytes';
import { CentralDirectoryParser } from './central-directory';
import { crc32 } from './crc32';
import { locateCentralDirectory } from './end-record';
import { METHOD, type ZipEntry } from './entry';

const LOCAL_HEADER_BYTES = 30;
/** Maven writes `META-INF/maven/<groupId>/<artifactId>/pom.properties`; a shaded jar keeps one per artifact it holds. */
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

/** What one pom.properties says, and where in the jar it lies. */
export interface PomProperties {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
  readonly path: string;
}

/**
 * The pom.properties of a jar held whole in memory, read with this folder's own zip code: its end record
 * and central directory, then each pom.properties up to `maxFileBytes` unpacked. Throws ZipInvalid on a
 * jar that is not a zip this code reads one way; a pom.properties without the three keys is left out.
 */
export function readPomProperties(jar: Uint8Array, maxFileBytes: number): PomProperties[] {
  const location = locateCentralDirectory(jar, 0);
  const parser = new CentralDirectoryParser(location);
  parser.push(jar.subarray(location.offset, location.offset + location.size));
  const found: PomProperties[] = [];
  for (const entry of parser.end().entries) {
    if (!POM_PROPERTIES.test(entry.name) || entry.uncompressedSize > maxFileBytes) continue;
    const pom = parseProperties(utf8.decode(entryBytes(jar, entry)));
    const { groupId, artifactId, version } = pom;
    if (groupId && artifactId && version) found.push({ groupId, artifactId, version, path: entry.name });
  }
  return found;
}

const utf8 = new TextDecoder('utf-8');

/** One entry's unpacked bytes, held to its declared size and CRC-32. */
function entryBytes(jar: Uint8Array, entry: ZipEntry): Uint8Array {
  const name = JSON.stringify(entry.name);
  if (!hasSignature(jar, entry.offset, SIGNATURE.localFileHeader)) throw zipInvalid(`jar entry ${name} has no local header where its directory says`);
  const start = entry.offset + LOCAL_HEADER_BYTES + readUint16(jar, entry.offset + 26) + readUint16(jar, entry.offset + 28);
  const data = jar.subarray(start, start + entry.compressedSize);
  if (data.length !== entry.compressedSize) throw zipInvalid(`jar entry ${name} runs past the end of the jar`);
  let bytes: Uint8Array;
  try {
    bytes = entry.method === METHOD.stored ? data : zlib.inflateRawSync(data, { maxOutputLength: entry.uncompressedSize + 1 });
  } catch (error) {
    throw zipInvalid(`jar entry ${name} has broken deflate data (${error instanceof Error ? error.message : String(error)})`);
  }
  if (bytes.length !== entry.uncompressedSize || crc32(bytes, 0) !== entry.crc32) {
    throw zipInvalid(`jar entry ${name} does not unpack to the size and CRC-32 its directory declares`);
  }
  return bytes;
}

/**
 * java.util.Properties as Maven writes pom.properties: `key=value` (or `key:value`, `key value`) lines,
 * `#` and `!` comments. Line continuations and escapes are not read: Maven writes none in these keys.
 */
function parseProperties(text: string): Partial<Record<string, string>> {
  const properties: Partial<Record<string, string>> = {};
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const pair = /^([^=:\s]+)\s*[=:\s]\s*(.*?)\s*$/.exec(line);
    if (pair !== null) properties[pair[1]!] = pair[2]!;
  }
  return properties;
}
