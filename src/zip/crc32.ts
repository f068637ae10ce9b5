import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value: number) => number;

/**
 * zlib's CRC-32 (the one zip entries carry). `zlib.crc32` is native from Node 20.15; Function Compute's
 * nodejs20 may run an older 20.x, where this table-driven one takes over.
 */
export const crc32: Crc32 = (zlib as { crc32?: Crc32 }).crc32 ?? tableCrc32;

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array, value: number): number {
  table ??= makeTable();
  let crc = ~value >>> 0;
  for (let index = 0; index < data.length; index++) crc = table[(crc ^ data[index]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

function makeTable(): Uint32Array {
  const made = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    made[n] = c >>> 0;
  }
  return made;
}
