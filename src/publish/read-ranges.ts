import { Crc64, crc64Combine } from '../checksum';
import { PublisherError, TransientError } from '../errors';
import type { ObjectHead, ObjectStore } from '../oss/store';
import { DEFAULT_TAIL_BYTES, type ZipInspector } from '../zip';

/** Inclusive byte positions, as in a `Range` header. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Below this a range costs more in request round trips than it gains in bandwidth, and the first range
 * must hold the inspector's head with room to spare.
 */
export const MIN_RANGE_BYTES = 8 * 1024 * 1024;

/** Up to `concurrency` contiguous ranges of at least MIN_RANGE_BYTES covering `size` bytes; one range means one plain GET. */
export function planRanges(size: number, concurrency: number): ByteRange[] {
  const count = Math.max(1, Math.min(concurrency, Math.floor(size / MIN_RANGE_BYTES)));
  const ranges: ByteRange[] = [];
  for (let index = 0; index < count; index++) {
    const start = Math.floor((size * index) / count);
    ranges.push({ start, end: Math.floor((size * (index + 1)) / count) - 1 });
  }
  return ranges;
}

/**
 * Reads the object as concurrent ranged GETs (each with If-Match), hashes each range as it arrives and
 * joins the CRCs with crc64Combine, so memory holds one window of chunks per socket, never a range.
 * The inspector sees the first range live, in order, so a non-zip still stops the read after its first
 * chunk; of the later ranges it needs only the archive's tail, copied aside as it passes.
 *
 * Resolves with the CRC-64 of the whole object and the CRC OSS reports for it (ranged GETs carry the
 * whole object's `x-oss-hash-crc64ecma`). The first range to fail stops the others; a broken body is a
 * TransientError, as with a single GET.
 */
export async function readRanges(
  store: ObjectStore,
  key: string,
  head: ObjectHead,
  ranges: readonly ByteRange[],
  inspector: ZipInspector,
  signal?: AbortSignal,
): Promise<{ crc64: string; reported: string | undefined }> {
  const [first] = ranges;
  if (first === undefined || first.start !== 0) throw new RangeError('the ranges must start at byte 0');
  const tail = new TailCopy(Math.max(first.end + 1, head.size - DEFAULT_TAIL_BYTES), head.size);
  const abort = new AbortController();
  // The caller's signal (the invocation's time) ends every range; so does the first range to fail.
  const stopped = signal ? AbortSignal.any([signal, abort.signal]) : abort.signal;
  const readOne = async (range: ByteRange, index: number) => {
    const crc = new Crc64();
    const { reported } = await streamRange(store, key, head.etag, range, { ranged: true, signal: stopped }, (chunk, position) => {
      crc.update(chunk);
      if (index === 0) inspector.update(chunk);
      else tail.copy(position, chunk);
    });
    return { crc64: crc.digest(), length: range.end - range.start + 1, reported };
  };

  const parts = await Promise.all(
    ranges.map((range, index) =>
      readOne(range, index).catch((error: unknown) => {
        if (!abort.signal.aborted) abort.abort(error);
        // The first failure is the one to report; the others are its echo.
        throw abort.signal.reason;
      }),
    ),
  );
  tail.feed(inspector, first.end + 1);
  const crc64 = parts.slice(1).reduce((whole, part) => crc64Combine(whole, part.crc64, part.length), parts[0]!.crc64);
  return { crc64, reported: parts.find((part) => part.reported !== undefined)?.reported ?? head.crc64 };
}

/**
 * The archive's last bytes, gathered from whichever ranges carry them. The inspector is fed in order,
 * keeps only its first bytes and its tail, and lets everything between pass unseen: the middle ranges,
 * hashed already, are stood in for by views of one zero page rather than kept.
 */
class TailCopy {
  private readonly bytes: Uint8Array;

  constructor(
    private readonly start: number,
    end: number,
  ) {
    this.bytes = new Uint8Array(end - start);
  }

  copy(position: number, chunk: Uint8Array): void {
    const from = Math.max(position, this.start);
    const to = position + chunk.length;
    if (to > from) this.bytes.set(chunk.subarray(from - position), from - this.start);
  }

  feed(inspector: ZipInspector, fedUpTo: number): void {
    const zeros = new Uint8Array(Math.min(ZERO_PAGE_BYTES, this.start - fedUpTo));
    for (let position = fedUpTo; position < this.start; position += zeros.length) {
      inspector.update(zeros.subarray(0, Math.min(zeros.length, this.start - position)));
    }
    inspector.update(this.bytes);
  }
}

const ZERO_PAGE_BYTES = 1024 * 1024;

/** A body that breaks off is read on from where it stopped, this many times per range. */
export const MAX_RESUMES = 3;

/**
 * Streams the bytes of `range` to `onChunk` in order, with If-Match on every request. A body that
 * breaks off (a reset, a cut socket, a short answer) is resumed with a ranged GET from the last byte
 * received, so the hash carries on instead of starting over (issue 5). A plain GET is used for the
 * first request of an unranged read. Failures of the requests themselves (412, 5xx) are thrown.
 */
export async function streamRange(
  store: ObjectStore,
  key: string,
  etag: string,
  range: ByteRange,
  options: { ranged: boolean; signal?: AbortSignal },
  onChunk: (chunk: Uint8Array, position: number) => void,
): Promise<{ reported: string | undefined }> {
  const { signal } = options;
  const length = range.end - range.start + 1;
  let received = 0;
  let reported: string | undefined;
  for (let resumes = 0; ; resumes++) {
    const from = range.start + received;
    const requested = options.ranged || received > 0 ? { range: { start: from, end: range.end } } : {};
    const { body, head } = await store.stream(key, { ifMatch: etag, ...requested });
    reported ??= head.crc64;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    const stop = () => body.destroy();
    signal?.addEventListener('abort', stop, { once: true });
    let broken: unknown;
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        if (received + chunk.length > length) {
          throw new TransientError(`GET ${key} bytes ${range.start}-${range.end} returned more than ${length} bytes`, {
            context: { key },
          });
        }
        onChunk(chunk, range.start + received);
        received += chunk.length;
      }
    } catch (error) {
      body.destroy();
      if (signal?.aborted) throw signal.reason;
      // What the checks above or the inspector threw is an answer, not a broken connection.
      if (error instanceof PublisherError) throw error;
      broken = error;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    if (received === length) return { reported };
    if (resumes >= MAX_RESUMES) {
      const why = broken instanceof Error ? `: ${broken.message}` : '';
      throw new TransientError(
        `GET ${key} bytes ${range.start}-${range.end} broke off ${resumes + 1} times, the last after ${received} of ${length} bytes${why}`,
        { cause: broken, context: { key } },
      );
    }
  }
}
