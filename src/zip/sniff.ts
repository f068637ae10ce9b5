import { SIGNATURE, readUint32, toHex, zipInvalid } from './bytes';

/** Enough of the start of the object to recognise the usual wrong uploads; tar's magic sits at 257. */
export const SNIFF_BYTES = 512;

/**
 * A zip starts with a local file header, or, when it has no entries at all, with the end record itself
 * (that case is refused later, with a clearer message, once the end record has been read).
 */
export function assertZipSignature(head: Uint8Array): void {
  if (head.length >= 4) {
    const signature = readUint32(head, 0);
    if (signature === SIGNATURE.localFileHeader || signature === SIGNATURE.endOfCentralDirectory) return;
  }
  const firstBytes = toHex(head.subarray(0, 8));
  const guess = guessFormat(head);
  const looksLike = guess === undefined ? '' : `; it looks like ${guess}`;
  throw zipInvalid(`the object is not a zip archive: it does not start with a zip signature (found 0x${firstBytes})${looksLike}`, { firstBytes });
}

const latin1 = new TextDecoder('latin1');

function hasMagic(head: Uint8Array, at: number, magic: readonly number[]): boolean {
  return magic.every((byte, index) => head[at + index] === byte);
}

function guessFormat(head: Uint8Array): string | undefined {
  if (hasMagic(head, 0, [0x1f, 0x8b])) return 'a gzip file (a .tar.gz?); a layer must be a .zip archive';
  if (hasMagic(head, 257, [0x75, 0x73, 0x74, 0x61, 0x72])) return 'a tar archive; a layer must be a .zip archive';
  if (hasMagic(head, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return 'a 7-Zip archive; a layer must be a .zip archive';
  if (hasMagic(head, 0, [0x52, 0x61, 0x72, 0x21])) return 'a RAR archive; a layer must be a .zip archive';
  if (hasMagic(head, 0, [0x42, 0x5a, 0x68])) return 'a bzip2 file; a layer must be a .zip archive';
  if (hasMagic(head, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'an xz file; a layer must be a .zip archive';
  if (hasMagic(head, 0, [0x4d, 0x5a])) return 'a Windows executable (a self-extracting archive?)';
  // Text formats: skip a UTF-8 byte-order mark and leading whitespace before looking at the first character.
  const text = latin1
    .decode(head)
    .replace(/^\u00ef\u00bb\u00bf/, '')
    .trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return "JSON text (the manifest uploaded under the zip's name?)";
  if (text.startsWith('<')) return 'an HTML or XML document (an error page saved instead of the archive?)';
  return undefined;
}
