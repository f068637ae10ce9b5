import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { type FileHandle, mkdir, open as openFile, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { quotedEtag } from './oss-object-http';
import {
  Digests,
  type ListedObject,
  type ObjectMeta,
  type OssBackend,
  type PartRecord,
  STREAM_PIECE_BYTES,
  type StoredObject,
  type UploadRecord,
  type UploadStore,
  type WrittenBody,
} from './oss-storage';
import { ServiceError } from './service';

/**
 * Buckets as folders a person can open: `<root>/<bucket>/<key>` holds an object's bytes as a plain
 * file, and what OSS knows about it (ETag, CRC-64, dates) lives in `<root>/.oss-meta/<bucket>/<key>.json`.
 *
 * A file is an object only while its sidecar matches it (same size and mtime). A file copied in by
 * hand has none until `adopt` describes it, which the local watcher does once the copy has settled:
 * until then OSS does not list or serve it, so a half-copied zip is never read as a whole one.
 *
 * An overwrite is seen whole or not at all, as on OSS. The sidecar is replaced by a rename, and names
 * the version it replaces besides the new one, so whichever file a reader finds between the sidecar's
 * rename and the bytes' rename is described. A reader that finds neither looks again when the file
 * changed under it. Reading holds the file open: a rename over it leaves the held version readable.
 *
 * Multipart uploads in progress live in `<root>/.oss-meta/.uploads/<uploadId>/`: the upload's
 * description, and each part as a file beside its own description, so they survive a restart.
 */
export interface FolderBackend extends OssBackend {
  readonly root: string;
  bucketFolder(bucket: string): string;
  /** The key of a file inside a bucket folder, or undefined for paths that cannot be objects. */
  keyOf(bucket: string, path: string): string | undefined;
  /** Every file in the bucket folder, objects or not, as keys. */
  fileKeys(bucket: string): Promise<string[]>;
  /**
   * Makes a file put there by hand an object, describing it from its bytes. Undefined when it already
   * is one, is gone, or changed while it was read (the watcher will see it again).
   */
  adopt(bucket: string, key: string): Promise<ObjectMeta | undefined>;
}

interface Sidecar extends SidecarEntry {
  /** The version this one replaced, for readers that still find its file in place; absent before overwrites. */
  previous?: SidecarEntry;
}

interface SidecarEntry {
  size: number;
  /** The file's mtime when the sidecar was written: a file changed since is not this object any more. */
  mtimeMs: number;
  etag: string;
  crc64: string | null;
  lastModified: string;
  contentType: string;
  objectType: ObjectMeta['objectType'];
  /** Absent in sidecars written before metadata was kept. */
  metadata?: Record<string, string>;
}

const META_FOLDER = '.oss-meta';
/** Streamed uploads land here first, on the same file system, and are renamed into place when complete. */
const INCOMING_FOLDER = join(META_FOLDER, '.incoming');
const UPLOADS_FOLDER = join(META_FOLDER, '.uploads');
/**
 * How often a reader looks again when the file changed between its stat and its sidecar read. Each
 * look that fails means another overwrite landed meanwhile, so this many in a row is a key being
 * rewritten without pause.
 */
const MAX_LOOKS = 100;

const CONTENT_TYPES: Record<string, string> = {
  '.zip': 'application/zip',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

export function createFolderBackend(root: string): FolderBackend {
  const bucketFolder = (bucket: string): string => join(root, bucket);
  const objectPath = (bucket: string, key: string): string => join(bucketFolder(bucket), ...keySegments(key));
  const sidecarPath = (bucket: string, key: string): string => `${join(root, META_FOLDER, bucket, ...keySegments(key))}.json`;

  const readSidecar = async (bucket: string, key: string): Promise<Sidecar | undefined> => {
    try {
      return JSON.parse(await readFile(sidecarPath(bucket, key), 'utf8')) as Sidecar;
    } catch {
      return undefined;
    }
  };

  /**
   * The version whose file `look` finds, with what `look` holds of it; undefined when there is no
   * file, or a file no sidecar describes that stayed put while it was looked at.
   */
  const find = async <T>(bucket: string, key: string, look: (path: string) => Promise<Look<T> | undefined>): Promise<Found<T> | undefined> => {
    const path = objectPath(bucket, key);
    for (let looks = 0; looks < MAX_LOOKS; looks += 1) {
      const found = await look(path);
      if (found === undefined) return undefined;
      const entry = matchingEntry(await readSidecar(bucket, key), found.file);
      if (entry !== undefined) return { meta: metaOf(entry), held: found.held };
      await found.release();
      const now = await fileStats(path);
      if (now === undefined || sameFile(now, found.file)) return undefined;
    }
    throw new ServiceError(503, 'ServiceUnavailable', `The local OSS found ${JSON.stringify(key)} overwritten ${MAX_LOOKS} times while reading it.`, {
      Key: key,
    });
  };

  const describe = async (bucket: string, key: string): Promise<ObjectMeta | undefined> =>
    (
      await find(bucket, key, async (path) => {
        const file = await fileStats(path);
        return file === undefined ? undefined : { file, held: undefined, release: async () => undefined };
      })
    )?.meta;

  /**
   * The new description (naming the one it replaces) first, then the bytes: whoever sees either file
   * in place finds its description.
   */
  const commit = async (bucket: string, key: string, staged: string, meta: ObjectMeta): Promise<void> => {
    const target = objectPath(bucket, key);
    const file = await stat(staged);
    const current = await readSidecar(bucket, key);
    const previous = current === undefined ? undefined : entryOf(current);
    await writeSidecar(sidecarPath(bucket, key), { ...entryFor(meta, file.mtimeMs), previous }, await stage());
    await mkdir(dirname(target), { recursive: true }).catch((error: unknown) => {
      throw notAFilePath(key, error);
    });
    await rename(staged, target).catch((error: unknown) => {
      throw notAFilePath(key, error);
    });
  };

  const stage = async (): Promise<string> => {
    const folder = join(root, INCOMING_FOLDER);
    await mkdir(folder, { recursive: true });
    return join(folder, randomUUID());
  };

  return {
    root,
    bucketFolder,
    uploads: folderUploadStore(join(root, UPLOADS_FOLDER), stage),
    keyOf(bucket, path) {
      const inside = relative(bucketFolder(bucket), path);
      if (inside === '' || inside.startsWith('..')) return undefined;
      const key = inside.split(sep).join('/');
      return isFileKey(key) ? key : undefined;
    },
    async createBucket(bucket) {
      await mkdir(bucketFolder(bucket), { recursive: true });
    },
    async hasBucket(bucket) {
      return (await fileStats(bucketFolder(bucket)))?.isDirectory() ?? false;
    },
    async bucketCreated(bucket) {
      const folder = await fileStats(bucketFolder(bucket));
      if (!folder?.isDirectory()) return undefined;
      // Some file systems keep no birth time (0): the folder's last status change is the next best.
      return new Date(Math.floor((folder.birthtimeMs || folder.ctimeMs) / 1000) * 1000);
    },
    async get(bucket, key) {
      return isFileKey(key) ? describe(bucket, key) : undefined;
    },
    async open(bucket, key) {
      if (!isFileKey(key)) return undefined;
      const found = await find(bucket, key, async (path) => {
        const handle = await openFile(path, 'r').catch(() => undefined);
        if (handle === undefined) return undefined;
        const file = await handle.stat();
        return { file, held: handle, release: () => handle.close() };
      });
      if (found === undefined) return undefined;
      const { meta, held } = found;
      // Once, however many ways the reader's end is reported (end of body, failure, cancel).
      let closed: Promise<void> | undefined;
      return { ...meta, read: (start, end) => readPieces(held, start, end), close: () => (closed ??= held.close()) } satisfies StoredObject;
    },
    async put(bucket, key, bytes, meta) {
      checkFileKey(key);
      const staged = await stage();
      await writeFile(staged, bytes);
      await commit(bucket, key, staged, meta);
    },
    async putStream(bucket, key, body, describeWritten) {
      checkFileKey(key);
      const staged = await stage();
      try {
        const written = await writeDigesting(body, staged);
        const meta = describeWritten(written);
        await commit(bucket, key, staged, meta);
        return meta;
      } catch (error) {
        await rm(staged, { force: true });
        throw error;
      }
    },
    async delete(bucket, key) {
      if (!isFileKey(key) || (await describe(bucket, key)) === undefined) return false;
      await unlink(objectPath(bucket, key));
      await rm(sidecarPath(bucket, key), { force: true });
      return true;
    },
    async list(bucket) {
      const listed: ListedObject[] = [];
      for (const key of await this.fileKeys(bucket)) {
        const meta = await describe(bucket, key);
        if (meta !== undefined) listed.push({ key, ...meta });
      }
      return listed.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    },
    async fileKeys(bucket) {
      const folder = bucketFolder(bucket);
      const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => this.keyOf(bucket, join(entry.parentPath, entry.name)))
        .filter((key): key is string => key !== undefined);
    },
    async adopt(bucket, key) {
      if (!isFileKey(key) || (await describe(bucket, key)) !== undefined) return undefined;
      const path = objectPath(bucket, key);
      const before = await fileStats(path);
      if (!before?.isFile()) return undefined;
      const written = await digestFile(path);
      const after = await fileStats(path);
      if (after === undefined || after.size !== written.size || after.mtimeMs !== before.mtimeMs) return undefined;
      const meta: ObjectMeta = {
        size: written.size,
        etag: quotedEtag(written.md5),
        crc64: written.crc64,
        // Whole seconds, as Last-Modified carries them.
        lastModified: new Date(Math.floor(after.mtimeMs / 1000) * 1000),
        contentType: CONTENT_TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream',
        objectType: 'Normal',
        metadata: {},
      };
      await writeSidecar(sidecarPath(bucket, key), entryFor(meta, after.mtimeMs), await stage());
      return meta;
    },
  };
}

/**
 * Keys that name a file: no empty, `.` or `..` segment, so a key can neither escape its bucket
 * folder nor name a folder. Other keys are valid in OSS but cannot be kept as plain files.
 */
function isFileKey(key: string): boolean {
  return key !== '' && key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && !segment.includes('\0'));
}

function checkFileKey(key: string): void {
  if (!isFileKey(key)) throw notAFilePath(key);
}

function keySegments(key: string): string[] {
  return key.split('/');
}

function notAFilePath(key: string, cause?: unknown): ServiceError {
  const why = cause instanceof Error ? ` (${cause.message})` : '';
  return new ServiceError(400, 'InvalidObjectName', `The local OSS keeps objects as files, and ${JSON.stringify(key)} cannot be one${why}.`, { Key: key });
}

/** A file found at a key, and what was taken hold of to find it (an open file, or nothing). */
interface Look<T> {
  file: Stats;
  held: T;
  release(): Promise<void>;
}

interface Found<T> {
  meta: ObjectMeta;
  held: T;
}

function matchingEntry(sidecar: Sidecar | undefined, file: Stats): SidecarEntry | undefined {
  if (sidecar === undefined || !file.isFile()) return undefined;
  return [sidecar, sidecar.previous].find((entry) => entry !== undefined && entry.size === file.size && entry.mtimeMs === file.mtimeMs);
}

/** Whether two looks at a path saw the same file, untouched in between. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function metaOf(entry: SidecarEntry): ObjectMeta {
  return {
    size: entry.size,
    etag: entry.etag,
    crc64: entry.crc64 ?? undefined,
    lastModified: new Date(entry.lastModified),
    contentType: entry.contentType,
    objectType: entry.objectType,
    metadata: entry.metadata ?? {},
  };
}

function entryOf({ previous: _previous, ...entry }: Sidecar): SidecarEntry {
  return entry;
}

function entryFor(meta: ObjectMeta, mtimeMs: number): SidecarEntry {
  return {
    size: meta.size,
    mtimeMs,
    etag: meta.etag,
    crc64: meta.crc64 ?? null,
    lastModified: meta.lastModified.toISOString(),
    contentType: meta.contentType,
    objectType: meta.objectType,
    metadata: meta.metadata,
  };
}

/** Written beside and renamed into place, so a reader never sees half a sidecar. */
async function writeSidecar(path: string, sidecar: Sidecar, staged: string): Promise<void> {
  await writeFile(staged, `${JSON.stringify(sidecar, null, 2)}\n`);
  await mkdir(dirname(path), { recursive: true });
  await rename(staged, path);
}

async function fileStats(path: string): Promise<Stats | undefined> {
  return stat(path).catch(() => undefined);
}

async function* readPieces(handle: FileHandle, start: number, end: number): AsyncIterable<Uint8Array> {
  if (end <= start) return;
  yield* handle.createReadStream({ start, end: end - 1, highWaterMark: STREAM_PIECE_BYTES, autoClose: false }) as AsyncIterable<Buffer>;
}

async function writeDigesting(body: AsyncIterable<Uint8Array>, path: string): Promise<WrittenBody> {
  const digests = new Digests();
  await pipeline(Readable.from(digests.tap(body)), createWriteStream(path));
  return digests.result();
}

async function digestFile(path: string): Promise<WrittenBody> {
  const digests = new Digests();
  for await (const chunk of createReadStream(path, { highWaterMark: STREAM_PIECE_BYTES }) as AsyncIterable<Buffer>) digests.update(chunk);
  return digests.result();
}

interface StoredUpload extends Omit<UploadRecord, 'initiated'> {
  initiated: string;
}

interface StoredPart extends Omit<PartRecord, 'lastModified'> {
  lastModified: string;
}

/**
 * `<folder>/<uploadId>/upload.json` describes an upload; `<n>.part` holds part n's bytes and
 * `<n>.json` its description, written after the bytes are in place: a part is there once its
 * description is. Parallel part uploads touch different files.
 */
function folderUploadStore(folder: string, stage: () => Promise<string>): UploadStore {
  const uploadFolder = (uploadId: string): string => {
    // Upload ids come from requests: only the hex ids this store hands out name a folder.
    if (!/^[0-9A-F]{32}$/.test(uploadId)) throw new Error(`Not an upload id: ${uploadId}`);
    return join(folder, uploadId);
  };
  const readJson = async <T>(path: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const recordOf = (stored: StoredUpload): UploadRecord => ({ ...stored, initiated: new Date(stored.initiated) });
  const get = async (uploadId: string): Promise<UploadRecord | undefined> => {
    if (!/^[0-9A-F]{32}$/.test(uploadId)) return undefined;
    const stored = await readJson<StoredUpload>(join(uploadFolder(uploadId), 'upload.json'));
    return stored === undefined ? undefined : recordOf(stored);
  };

  return {
    async create(upload) {
      const path = uploadFolder(upload.uploadId);
      await mkdir(path, { recursive: true });
      const stored: StoredUpload = { ...upload, initiated: upload.initiated.toISOString() };
      await writeFile(join(path, 'upload.json'), `${JSON.stringify(stored, null, 2)}\n`);
    },
    get,
    async list(bucket) {
      const ids = await readdir(folder).catch(() => []);
      const records = await Promise.all(ids.map((id) => get(id)));
      return records.filter((record): record is UploadRecord => record?.bucket === bucket);
    },
    async putPart(uploadId, partNumber, body, describePart) {
      const path = uploadFolder(uploadId);
      const staged = await stage();
      try {
        const part = describePart(await writeDigesting(body, staged));
        await rename(staged, join(path, `${partNumber}.part`));
        const stored: StoredPart = { ...part, lastModified: part.lastModified.toISOString() };
        await writeFile(join(path, `${partNumber}.json`), `${JSON.stringify(stored)}\n`);
        return part;
      } catch (error) {
        await rm(staged, { force: true });
        throw error;
      }
    },
    async parts(uploadId) {
      const path = uploadFolder(uploadId);
      const names = (await readdir(path).catch(() => [])).filter((name) => /^\d+\.json$/.test(name));
      const parts = await Promise.all(names.map((name) => readJson<StoredPart>(join(path, name))));
      return parts
        .filter((part): part is StoredPart => part !== undefined)
        .map((part) => ({ ...part, lastModified: new Date(part.lastModified) }))
        .sort((a, b) => a.partNumber - b.partNumber);
    },
    readPart(uploadId, partNumber) {
      return createReadStream(join(uploadFolder(uploadId), `${partNumber}.part`), { highWaterMark: STREAM_PIECE_BYTES }) as AsyncIterable<Buffer>;
    },
    async delete(uploadId) {
      await rm(uploadFolder(uploadId), { recursive: true, force: true });
    },
  };
}
