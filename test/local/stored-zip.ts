import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * Writes a zip with one stored (uncompressed) entry of `size` bytes straight to disk, a 1 MiB
 * pattern at a time, so a 256 MiB archive never sits in memory. The sizes and CRC-32 go in a data
 * descriptor after the bytes (flag bit 3), as streaming zip writers do. No ZIP64: under 4 GiB only.
 */
export async function writeStoredZip(path: string, entryName: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const write = async (bytes: Buffer): Promise<void> => {
    if (!out.write(bytes)) await once(out, 'drain');
  };
  const name = Buffer.from(entryName);
  const piece = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 2654435761) >>> 24;

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x0008, 6);
  local.writeUInt16LE(name.length, 26);
  await write(Buffer.concat([local, name]));
  let crc = 0;
  for (let written = 0; written < size; written += piece.length) {
    const chunk = piece.subarray(0, Math.min(piece.length, size - written));
    crc = crc32(chunk, crc);
    await write(chunk);
  }
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(crc, 4);
  descriptor.writeUInt32LE(size, 8);
  descriptor.writeUInt32LE(size, 12);
  await write(descriptor);

  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0008, 8);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(size, 20);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + size + descriptor.length;
  await write(Buffer.concat([central, name]));
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  await write(end);
  out.end();
  await once(out, 'finish');
}
