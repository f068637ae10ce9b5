import { PublisherError, TransientError } from '../errors';
import type { ObjectStore } from '../oss/store';
import type { ByteRange, OnChunk } from '../zip';

/** A body that breaks off is read on from where it stopped, this many times per range. */
export const MAX_RESUMES = 3;

/**
 * Streams the bytes of `range` to `onChunk` in order, with If-Match on every request. A body that
 * breaks off (a reset, a cut socket, a short answer) is resumed with a ranged GET from the last byte
 * received, so the hash and the entry checks carry on instead of starting over. A plain GET is
 * used for the first request of an unranged read. Failures of the requests themselves (412, 5xx) are thrown.
 */
export async function streamRange(
  store: Pick<ObjectStore, 'stream'>,
  key: string,
  etag: string,
  range: ByteRange,
  options: { ranged: boolean; signal?: AbortSignal },
  onChunk: OnChunk,
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
        const checking = onChunk(chunk, range.start + received);
        // An inflater that is behind holds the socket back, rather than the chunks piling up in memory.
        if (checking) await checking;
        received += chunk.length;
      }
    } catch (error) {
      body.destroy();
      if (signal?.aborted) throw signal.reason;
      // What the checks above or the zip checks threw is an answer, not a broken connection.
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
