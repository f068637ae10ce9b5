import { DEFAULT_READ_CONCURRENCY } from '../config';
import { InvalidInputError, PreconditionFailedError, PublisherError, RangeNotServedError, TransientError } from '../errors';
import type { ObjectHead, ObjectStore } from '../oss/store';
import { type ArchiveRead, type ByteSource, readArchive } from '../zip';
import { streamRange } from './read-ranges';

/** The archive read (its CRC-64, layout, unpacked size and packages), and what reading it took. */
export interface VerifiedZip extends ArchiveRead {
  bytesRead: number;
  elapsedMs: number;
}

export interface ReadOptions {
  /** READ_CONCURRENCY: how many ranged GETs read the zip's entries at once. */
  concurrency?: number;
  /** Ends the read, whatever state its bodies are in: the invocation's time is running out. */
  signal?: AbortSignal;
  /** Off only to measure what the entry checks cost (npm run bench:stream). */
  verifyEntries?: boolean;
  /** MAX_UNPACKED_BYTES; unset, its default. */
  maxUnpackedBytes?: number | undefined;
  /** Off only to measure what gathering the packages costs (npm run bench:stream). */
  gatherContents?: boolean;
}

/**
 * Step 4 of docs/contract.md §5: the zip streamed once (with If-Match, so a replaced object cannot mix versions)
 * into the CRC-64 and the zip checks, its tail first and then its entries as concurrent ranged GETs whose
 * CRCs are combined; memory holds one window of chunks per socket, the tail and what the inflaters
 * buffer. Hashing stays on this thread: on 2 cores a worker was slower (658 vs 710 MB/s hashing a
 * 256 MiB loopback GET) and, without a bounded queue, held 80 MiB more; inflating runs on zlib's
 * thread pool.
 */
export async function readAndVerifyZip(store: Pick<ObjectStore, 'stream'>, key: string, head: ObjectHead, options: ReadOptions = {}): Promise<VerifiedZip> {
  const startedAt = performance.now();
  const concurrency = options.concurrency ?? DEFAULT_READ_CONCURRENCY;
  let reported: string | undefined;
  let rangesServed = true;
  const source: ByteSource = {
    size: head.size,
    concurrency: () => (rangesServed ? concurrency : 1),
    read: async (range, onChunk, stop) => {
      const signal = options.signal ? AbortSignal.any([options.signal, stop]) : stop;
      const whole = range.start === 0 && range.end === head.size - 1;
      if (rangesServed || whole) {
        try {
          const served = await streamRange(store, key, head.etag, range, { ranged: !whole, signal }, onChunk);
          reported ??= served.reported;
          return;
        } catch (error) {
          if (!(error instanceof RangeNotServedError)) throw error;
          rangesServed = false;
        }
      }
      // An endpoint that ignores Range still serves the contract's single GET: read it whole, pass the range on.
      const served = await streamRange(store, key, head.etag, { start: 0, end: head.size - 1 }, { ranged: false, signal }, (chunk, position) => {
        const from = Math.max(0, range.start - position);
        const to = Math.min(chunk.length, range.end + 1 - position);
        return to > from ? onChunk(chunk.subarray(from, to), position + from) : undefined;
      });
      reported ??= served.reported;
    },
  };
  let archive: ArchiveRead;
  try {
    const { verifyEntries, maxUnpackedBytes, gatherContents } = options;
    archive = await readArchive(source, { verifyEntries, maxUnpackedBytes, gatherContents });
  } catch (error) {
    throw withKey(asReadFailure(error, key), key);
  }
  const { crc64 } = archive;
  const expected = reported ?? head.crc64;
  if (expected !== undefined && expected !== crc64) {
    throw new InvalidInputError(
      'ChecksumMismatch',
      `the bytes read from ${key} have CRC-64 ${crc64}, but OSS reports x-oss-hash-crc64ecma ${expected}: ` +
        'the object is corrupt or was changed while it was read; upload the zip again',
      { context: { key, computed: crc64, reported: expected } },
    );
  }
  // readArchive has thrown unless every byte HEAD announced arrived.
  return { ...archive, bytesRead: head.size, elapsedMs: performance.now() - startedAt };
}

function asReadFailure(error: unknown, key: string): unknown {
  if (error instanceof PublisherError || error instanceof PreconditionFailedError) {
    return error;
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new TransientError(`reading ${key} did not finish in the time this invocation has left`, { cause: error, context: { key } });
  }
  // A socket cut or reset mid-body: the object is fine, the read was not.
  return new TransientError(`reading ${key} broke off: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
    context: { key },
  });
}

function withKey(error: unknown, key: string): unknown {
  if (error instanceof InvalidInputError && !error.message.includes(key)) {
    return new InvalidInputError(error.code as ConstructorParameters<typeof InvalidInputError>[0], `zip ${key}: ${error.message}`, {
      cause: error.cause,
      context: { ...error.context, key },
    });
  }
  return error;
}
