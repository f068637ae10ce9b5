import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_UNPACKED_BYTES } from '../../src/config';
import { PublisherError } from '../../src/errors';
import { DEFAULT_TAIL_BYTES, readArchive } from '../../src/zip';
import { deflatedZeros, oneEntryZip, zerosBomb } from '../fixtures/zips/bomb';
import { memorySource, read } from './helpers';

const MIB = 1024 * 1024;

async function refusal(promise: Promise<unknown>): Promise<PublisherError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PublisherError);
  return error as PublisherError;
}

describe('MAX_UNPACKED_BYTES', () => {
  it('refuses a 4 MB zip holding one 4 GiB entry of zeros from its central directory, before reading any entry', async () => {
    const bomb = zerosBomb(4096);
    expect(bomb.length).toBeLessThan(5_000_000);
    const { source, ranges } = memorySource(bomb);
    const error = await refusal(readArchive(source));
    expect(error.code).toBe('ZipTooLarge');
    expect(error.message).toContain('unpacks to 4294967296 bytes (4.0 GiB)');
    expect(error.message).toContain(`MAX_UNPACKED_BYTES (${DEFAULT_MAX_UNPACKED_BYTES} bytes (2.9 GiB))`);
    expect(error.context).toMatchObject({ unpackedBytes: 4 * 1024 * MIB, limit: DEFAULT_MAX_UNPACKED_BYTES });
    // Only the tail (end record and central directory) was asked for: no entry byte, nothing inflated.
    expect(ranges).toEqual([{ start: bomb.length - DEFAULT_TAIL_BYTES, end: bomb.length - 1 }]);
  });

  it('takes a zip that unpacks to exactly the limit, and refuses one byte less of limit', async () => {
    const zip = zerosBomb(8, crc32(Buffer.alloc(8 * MIB)));
    await expect(read(zip, [], { maxUnpackedBytes: 8 * MIB })).resolves.toMatchObject({ unpackedBytes: 8 * MIB });
    const error = await refusal(read(zip, [], { maxUnpackedBytes: 8 * MIB - 1 }));
    expect(error.code).toBe('ZipTooLarge');
    expect(error.message).toContain(`unpacks to ${8 * MIB} bytes (8.0 MiB)`);
    expect(error.message).toContain(`over MAX_UNPACKED_BYTES (${8 * MIB - 1} bytes`);
  });

  // 64 MiB of zeros deflate to 66 kB (inflated in one call), 512 MiB to 531 kB (streamed): both paths.
  it.each([64, 512])('refuses an entry that declares 1 KiB and inflates to %d MiB, once the zip passes the limit, naming both sizes', async (mebibytes) => {
    const declared = Buffer.alloc(1024);
    const liar = oneEntryZip('lib/zeros.bin', deflatedZeros(mebibytes), declared.length, crc32(declared));
    const error = await refusal(read(liar, [], { maxUnpackedBytes: 8 * MIB }));
    expect(error.code).toBe('ZipTooLarge');
    expect(error.message).toContain('entry "lib/zeros.bin" unpacks to more than the 1024 bytes its header declares');
    expect(error.message).toContain(`MAX_UNPACKED_BYTES (${8 * MIB} bytes (8.0 MiB)), though its central directory declares 1024 bytes`);
    expect(error.context).toMatchObject({ entry: 'lib/zeros.bin', declaredBytes: 1024, limit: 8 * MIB });
    expect(error.context.unpackedBytes).toBeGreaterThan(8 * MIB);
  });

  it('still calls an entry that unpacks past its declared size, within the limit, corrupt', async () => {
    const declared = Buffer.alloc(1024);
    const liar = oneEntryZip('lib/zeros.bin', deflatedZeros(2), declared.length, crc32(declared));
    const error = await refusal(read(liar, [], { maxUnpackedBytes: 8 * MIB }));
    expect(error.code).toBe('ZipInvalid');
    expect(error.message).toContain('unpacks to more than the 1024 bytes its header declares');
  });
});
