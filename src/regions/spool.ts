import { mkdtemp, open, rm, statfs, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, pipeline } from 'node:stream';
import type { ObjectHead, ObjectStore, StreamOptions } from '../oss/store';

/** What reading the zip needs of a store: the verification reads through it, the copies read from it. */
export type ZipReader = Pick<ObjectStore, 'bucket' | 'stream'>;

/** Room left on the disk beside the zip, for everything else the instance writes there. */
const DISK_MARGIN_BYTES = 64 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The zip's bytes, written to the instance's disk as the verification reads them, so the copies to
 * other regions read them from there instead of from OSS again: the home link carries the zip once
 * however many regions there are. Copies read as far as the verification got, and wait
 * for more; bytes it never reads (before the first entry, past a failed write) come from OSS once
 * the verification is over. Memory holds a chunk per reader, not the zip.
 */
export class ZipSpool {
  /** Written ranges, sorted and merged, as [start, end) pairs. */
  private readonly covered: Array<[number, number]> = [];
  /** Resolved, and replaced, whenever bytes are written or the spool settles. */
  private changed = signal();
  /** The verification is over, or a write failed: what is not on disk comes from OSS. */
  private settled = false;

  private constructor(
    private readonly file: FileHandle,
    private readonly dir: string,
    private readonly home: ZipReader,
    private readonly key: string,
    private readonly head: ObjectHead,
  ) {}

  /** A spool for the zip, or undefined when the disk has no room for it (the copies then read OSS). */
  static async open(home: ZipReader, key: string, head: ObjectHead, dir = tmpdir()): Promise<ZipSpool | undefined> {
    const disk = await statfs(dir).catch(() => undefined);
    if (disk === undefined || disk.bavail * disk.bsize < head.size + DISK_MARGIN_BYTES) return undefined;
    // A disk that cannot take the file only costs the copies their shortcut.
    const folder = await mkdtemp(join(dir, 'zip-spool-')).catch(() => undefined);
    if (folder === undefined) return undefined;
    const file = await open(join(folder, 'zip'), 'w+').catch(() => undefined);
    if (file === undefined) {
      await rm(folder, { recursive: true, force: true });
      return undefined;
    }
    return new ZipSpool(file, folder, home, key, head);
  }

  /** The home store as the verification reads it: every byte of the zip it streams is also written here. */
  tap(): ZipReader {
    return {
      bucket: this.home.bucket,
      stream: async (key, options) => {
        const read = await this.home.stream(key, options);
        if (key !== this.key || this.settled) return read;
        let position = options.range?.start ?? 0;
        const spool = this;
        const writing = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            const at = position;
            position += chunk.length;
            spool.write(chunk, at).then(
              () => done(null, chunk),
              () => done(null, chunk),
            );
          },
        });
        pipeline(read.body, writing, () => undefined);
        return { body: writing, head: read.head };
      },
    };
  }

  /** The zip for the copies: from disk as far as written, from OSS for what never will be. */
  reader(): ZipReader {
    return {
      bucket: this.home.bucket,
      stream: async (key, options) => {
        if (key !== this.key || options.ifMatch !== this.head.etag) return this.home.stream(key, options);
        const start = options.range?.start ?? 0;
        const end = options.range?.end ?? this.head.size - 1;
        return { body: Readable.from(this.bytes(start, end, options)), head: this.head };
      },
    };
  }

  /** The verification is over (passed or failed): readers take what is missing from OSS. */
  finish(): void {
    this.settled = true;
    this.notify();
  }

  async close(): Promise<void> {
    this.finish();
    await this.file.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async write(chunk: Buffer, at: number): Promise<void> {
    try {
      await this.file.write(chunk, 0, chunk.length, at);
      this.cover(at, at + chunk.length);
    } catch {
      // A full disk: the copies read the rest from OSS, as they would without a spool.
      this.finish();
    }
  }

  private cover(start: number, end: number): void {
    const ranges = this.covered;
    ranges.push([start, end]);
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    }
    ranges.splice(0, ranges.length, ...merged);
    this.notify();
  }

  private notify(): void {
    this.changed.resolve();
    this.changed = signal();
  }

  /** The end of the written run holding `position`, or `position` itself when it is not written. */
  private writtenUntil(position: number): number {
    return this.covered.find(([start, end]) => start <= position && position < end)?.[1] ?? position;
  }

  private nextWrittenAfter(position: number): number {
    return this.covered.find(([start]) => start > position)?.[0] ?? Number.POSITIVE_INFINITY;
  }

  private async *bytes(start: number, end: number, options: StreamOptions): AsyncGenerator<Buffer> {
    let position = start;
    while (position <= end) {
      const written = Math.min(this.writtenUntil(position), end + 1);
      if (written > position) {
        const length = Math.min(written - position, READ_CHUNK_BYTES);
        const chunk = Buffer.allocUnsafe(length);
        const { bytesRead } = await this.file.read(chunk, 0, length, position);
        position += bytesRead;
        yield chunk.subarray(0, bytesRead);
        continue;
      }
      if (this.settled) {
        // Never written here: the gap up to the next written run, from OSS with the same If-Match.
        const gapEnd = Math.min(this.nextWrittenAfter(position), end + 1) - 1;
        const { body } = await this.home.stream(this.key, { ifMatch: options.ifMatch, range: { start: position, end: gapEnd } });
        for await (const chunk of body as AsyncIterable<Buffer>) {
          position += chunk.length;
          yield chunk;
        }
        continue;
      }
      await this.changed.promise;
    }
  }
}

/** A promise and its resolver (Promise.withResolvers is Node 22; the runtime is nodejs20). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}
