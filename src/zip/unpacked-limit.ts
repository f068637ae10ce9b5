import { InvalidInputError } from '../errors';
import type { ZipEntry } from './entry';

/**
 * MAX_UNPACKED_BYTES over one archive read: checked first against what the central directory declares
 * (before any byte is inflated), then against what entries that unpack past their declared size really
 * produce, summed over every run of entries read at once. An honest archive never reaches the second
 * check: each entry is held to its declared size, so only a lying one adds overrun.
 */
export class UnpackedLimit {
  private overrun = 0;

  constructor(
    readonly limit: number,
    readonly declared: number,
  ) {
    if (declared > limit) {
      throw tooLarge(`the zip unpacks to ${sizeText(declared)} (its central directory's sizes), over MAX_UNPACKED_BYTES (${sizeText(limit)})`, {
        unpackedBytes: declared,
        limit,
      });
    }
  }

  /** How many bytes more than their entries declare the archive may still unpack before it is refused. */
  get overrunAllowed(): number {
    return this.limit - this.declared - this.overrun;
  }

  /** `bytes` more than an entry declares have come out of it: refused once the whole passes the limit. */
  addOverrun(entry: ZipEntry, bytes: number): void {
    this.overrun += bytes;
    const reached = this.declared + this.overrun;
    if (reached <= this.limit) return;
    throw tooLarge(
      `entry ${JSON.stringify(entry.name)} unpacks to more than the ${entry.uncompressedSize} bytes its header declares, and the zip to more than ` +
        `MAX_UNPACKED_BYTES (${sizeText(this.limit)}), though its central directory declares ${sizeText(this.declared)} in all: ` +
        'the archive lies about its sizes (a zip bomb)',
      { entry: entry.name, unpackedBytes: reached, declaredBytes: this.declared, limit: this.limit },
    );
  }
}

function tooLarge(message: string, context: Record<string, unknown>): InvalidInputError {
  // Function Compute unpacks a layer into every instance that uses it: the size counts there, not in OSS.
  return new InvalidInputError(
    'ZipTooLarge',
    `${message}; Function Compute unpacks a layer into every instance that uses it: split the layer, or raise MAX_UNPACKED_BYTES if it is meant to be this large`,
    { context },
  );
}

/** "4294967296 bytes (4.0 GiB)": exact for a person checking, rounded for one reading. */
function sizeText(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 'bytes';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return unit === 'bytes' ? `${bytes} bytes` : `${bytes} bytes (${value.toFixed(1)} ${unit})`;
}
