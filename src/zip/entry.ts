import { InvalidInputError } from '../errors';
import { readUint16, readUint64, zipInvalid } from './bytes';
import type { EntryPath } from './entry-name';

/** What the central directory says about one entry: what its local header and data must match. */
export interface ZipEntry {
  readonly name: string;
  /** The name as an extractor writes it, parsed once (entry-name.ts). */
  readonly path: EntryPath | 'root';
  /** General-purpose flags; bit 11 says the name is UTF-8, otherwise it is CP437, read here as Latin-1. */
  readonly flags: number;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Absolute offset of the local header. */
  readonly offset: number;
  readonly symlink: boolean;
}

export const FLAG = {
  encrypted: 0x0001,
  dataDescriptor: 0x0008,
  strongEncryption: 0x0040,
  utf8: 0x0800,
} as const;

export const METHOD = { stored: 0, deflated: 8 } as const;

const METHOD_NAMES: Record<number, string> = {
  1: 'Shrink',
  6: 'Implode',
  9: 'Deflate64',
  12: 'BZip2',
  14: 'LZMA',
  93: 'Zstandard',
  95: 'XZ',
  98: 'PPMd',
  99: 'AES encryption',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

export function decodeName(bytes: Uint8Array, flags: number): string | undefined {
  if ((flags & FLAG.utf8) === 0) return latin1.decode(bytes);
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Entry data every extractor unpacks: stored or deflated, and no password (docs/contract.md §4). */
export function assertSupported(name: string, flags: number, method: number): void {
  const fix = 're-zip with deflate, without a password';
  if ((flags & (FLAG.encrypted | FLAG.strongEncryption)) !== 0 || method === 99) {
    throw zipInvalid(`entry ${JSON.stringify(name)} is encrypted (password-protected), which Function Compute cannot unpack: ${fix}`, {
      entry: name,
    });
  }
  if (method !== METHOD.stored && method !== METHOD.deflated) {
    const known = METHOD_NAMES[method];
    throw zipInvalid(
      `entry ${JSON.stringify(name)} is compressed with ${known ?? 'an unknown method'} (method ${method}), which not every extractor unpacks: ${fix}`,
      { entry: name, method },
    );
  }
}

const ZIP64_EXTRA = 0x0001;
const UNICODE_PATH_EXTRA = 0x7075;

/** The extra-field blocks of a header, by tag; a block that runs past the field is corruption. */
export function readExtras(extra: Uint8Array, name: string): Map<number, Uint8Array> {
  const blocks = new Map<number, Uint8Array>();
  let at = 0;
  while (at + 4 <= extra.length) {
    const tag = readUint16(extra, at);
    const size = readUint16(extra, at + 2);
    if (at + 4 + size > extra.length) break;
    if (!blocks.has(tag)) blocks.set(tag, extra.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  // Android's zipalign pads with a few zero bytes that are no block; anything else is a cut-off block.
  if (at < extra.length && extra.subarray(at).some((byte) => byte !== 0)) {
    throw zipInvalid(`entry ${JSON.stringify(name)} has a corrupt extra field (a block runs past its end)`, { entry: name });
  }
  return blocks;
}

/**
 * The 64-bit values a ZIP64 extra block holds, in the order APPNOTE 4.5.3 gives, for exactly the fields
 * whose 32-bit value is saturated.
 */
export function zip64Values(blocks: Map<number, Uint8Array>, name: string, fields: readonly { value: number; saturated: number }[]): number[] {
  const block = blocks.get(ZIP64_EXTRA);
  let at = 0;
  return fields.map(({ value, saturated }) => {
    if (value !== saturated) return value;
    if (block === undefined || at + 8 > block.length) {
      throw zipInvalid(`entry ${JSON.stringify(name)} has saturated sizes but no ZIP64 field holding them (corrupt archive)`, { entry: name });
    }
    const wide = readUint64(block, at, 'entry size');
    at += 8;
    return wide;
  });
}

/**
 * Info-ZIP's Unicode Path field gives a second name, which Info-ZIP extracts to and other tools ignore.
 * Its non-ASCII characters may well differ from the header's (a CP437 name and its UTF-8 spelling); the
 * ASCII around them, which holds every folder separator and dot, must not, or the entry has two paths.
 */
export function assertOneName(blocks: Map<number, Uint8Array>, name: string): void {
  const block = blocks.get(UNICODE_PATH_EXTRA);
  if (block === undefined || block.length < 5) return;
  const other = decodeName(block.subarray(5), FLAG.utf8);
  if (other !== undefined && asciiSkeleton(other) === asciiSkeleton(name)) return;
  throw new InvalidInputError(
    'ZipLayoutInvalid',
    `entry ${JSON.stringify(name)} carries a second name (${JSON.stringify(other ?? '(not UTF-8)')}) in an Info-ZIP Unicode Path field, which only some tools use; re-zip it`,
    { context: { entry: name } },
  );
}

function asciiSkeleton(name: string): string {
  return name.replace(/[^\u0000-\u007f]+/g, '\u0080');
}
