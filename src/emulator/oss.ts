import { Crc64 } from '../checksum/crc64';
import type { Credential } from './auth';
import { FaultInjector } from './faults';
import { type ObjectCreatedEventName, type OssEventRecord, objectCreatedRecord } from './oss-events';
import { listObjectsXml } from './oss-list';
import { MultipartUploads } from './oss-multipart';
import {
  evaluatePreconditions,
  forbidsOverwrite,
  md5,
  objectHeaders,
  quotedEtag,
  rejectConditionalWrite,
  resolveRange,
  streamOf,
  verifyContentMd5,
  verifyContentMd5Digest,
} from './oss-object-http';
import { type OssResource, isSubresource, verifyOssV1Signature } from './oss-signature';
import { type ObjectMeta, type OssBackend, createMemoryBackend } from './oss-storage';
import { element, errorXml, xmlDocument } from './oss-xml';
import { RequestLog } from './request-log';
import { ServiceError, loggableHeaders, newRequestId, readBody } from './service';

export interface OssEmulatorOptions {
  accountId: string;
  /** Region id without the `oss-` prefix, e.g. `cn-hangzhou`. */
  region: string;
  credentials: readonly Credential[];
  buckets?: readonly string[];
  backend?: OssBackend;
  /** The server's clock: dates of new objects and the 15-minute skew check. */
  now?: () => Date;
}

/** A request as faults match it and the log records it. */
export interface OssRequestTarget {
  method: string;
  bucket: string;
  /** Decoded; empty for bucket-level requests. */
  key: string;
  query: Record<string, string>;
}

export interface OssRequestRecord extends OssRequestTarget {
  /** Every request header but those that carry credentials. */
  headers: Record<string, string>;
  status: number;
  /** The OSS error code, when the answer was an error. */
  code?: string;
  requestId: string;
}

export interface SeedOptions {
  /** Store no CRC, as OSS has none for copied or legacy objects: no `x-oss-hash-crc64ecma`. */
  withoutCrc?: boolean;
  contentType?: string;
}

export type ObjectCreatedListener = (record: OssEventRecord) => void;

export interface OssEmulator {
  /** The fake itself: answers one HTTP request as OSS would. */
  handle(request: Request): Promise<Response>;
  createBucket(bucket: string): Promise<void>;
  /** Stores an object directly (no request, no event), as if uploaded earlier. */
  putObject(bucket: string, key: string, bytes: Uint8Array, options?: SeedOptions): Promise<ObjectMeta>;
  readObject(bucket: string, key: string): Promise<Uint8Array | undefined>;
  statObject(bucket: string, key: string): Promise<ObjectMeta | undefined>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** Called for each object created through the API, as the OSS trigger would be. Returns an unsubscribe. */
  onObjectCreated(listener: ObjectCreatedListener): () => void;
  /** The event record OSS would send for the object as it is now stored (for seeded objects). */
  objectCreatedEvent(bucket: string, key: string, eventName?: ObjectCreatedEventName): Promise<OssEventRecord>;
  readonly requests: RequestLog<OssRequestRecord>;
  readonly faults: FaultInjector<OssRequestTarget>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface ParsedRequest extends OssResource {
  method: string;
}

interface StoreWrite {
  forbidOverwrite: boolean;
  eventName: ObjectCreatedEventName;
  requestId: string;
}

export function createOssEmulator(options: OssEmulatorOptions): OssEmulator {
  return new OssService(options);
}

class OssService implements OssEmulator {
  readonly requests = new RequestLog<OssRequestRecord>();
  readonly faults = new FaultInjector<OssRequestTarget>();
  private readonly backend: OssBackend;
  private readonly now: () => Date;
  private readonly multipart = new MultipartUploads();
  private readonly listeners = new Set<ObjectCreatedListener>();
  private readonly writes = new KeyedQueue();
  private readonly ready: Promise<void>;

  constructor(private readonly options: OssEmulatorOptions) {
    this.backend = options.backend ?? createMemoryBackend();
    this.now = options.now ?? (() => new Date());
    this.ready = Promise.all((options.buckets ?? []).map((bucket) => this.createBucket(bucket))).then(() => undefined);
  }

  handle = async (request: Request): Promise<Response> => {
    await this.ready;
    const requestId = newRequestId();
    const parsed = parseRequest(request);
    let response: Response;
    let code: string | undefined;
    try {
      response = await this.serve(request, parsed, requestId);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      code = error.code;
      response = this.errorResponse(error, request.method, requestId, parsed.bucket);
    }
    response.headers.set('x-oss-request-id', requestId);
    response.headers.set('server', 'AliyunOSS');
    response.headers.set('date', this.now().toUTCString());
    this.requests.record({ ...describe(parsed), headers: loggableHeaders(request.headers), status: response.status, code, requestId });
    return response;
  };

  async createBucket(bucket: string): Promise<void> {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`Invalid OSS bucket name: ${bucket}`);
    await this.backend.createBucket(bucket);
  }

  async putObject(bucket: string, key: string, bytes: Uint8Array, options: SeedOptions = {}): Promise<ObjectMeta> {
    await this.ready;
    if (!(await this.backend.hasBucket(bucket))) throw new Error(`No bucket ${bucket}: create it first`);
    const meta = this.describeNewObject(bytes, quotedEtag(md5(bytes)), options.contentType ?? DEFAULT_CONTENT_TYPE, 'Normal');
    if (options.withoutCrc) meta.crc64 = undefined;
    await this.backend.put(bucket, key, bytes, meta);
    return meta;
  }

  async readObject(bucket: string, key: string): Promise<Uint8Array | undefined> {
    const object = await this.backend.get(bucket, key);
    if (object === undefined) return undefined;
    const pieces: Uint8Array[] = [];
    for await (const piece of object.read(0, object.size)) pieces.push(piece);
    return Buffer.concat(pieces);
  }

  async statObject(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    const object = await this.backend.get(bucket, key);
    if (object === undefined) return undefined;
    const { read: _read, ...meta } = object;
    return meta;
  }

  async listKeys(bucket: string, prefix = ''): Promise<string[]> {
    const objects = await this.backend.list(bucket);
    return objects.map((object) => object.key).filter((key) => key.startsWith(prefix));
  }

  onObjectCreated(listener: ObjectCreatedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async objectCreatedEvent(bucket: string, key: string, eventName: ObjectCreatedEventName = 'ObjectCreated:PutObject'): Promise<OssEventRecord> {
    const meta = await this.statObject(bucket, key);
    if (meta === undefined) throw new Error(`No object ${bucket}/${key}`);
    return this.record(eventName, bucket, key, meta, meta.size, newRequestId());
  }

  private async serve(request: Request, parsed: ParsedRequest, requestId: string): Promise<Response> {
    if (!(await this.backend.hasBucket(parsed.bucket))) {
      throw new ServiceError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: parsed.bucket });
    }
    verifyOssV1Signature(request, parsed, this.options.credentials, this.now());
    return this.faults.apply(describe(parsed), () => this.dispatch(request, parsed, requestId));
  }

  private dispatch(request: Request, parsed: ParsedRequest, requestId: string): Promise<Response> {
    const { method, key, query } = parsed;
    const has = (name: string): boolean => query.has(name);
    if (key === '') {
      if (method === 'GET' && !hasOtherSubresources(query, ['continuation-token'])) return this.listObjects(parsed);
    } else if (method === 'PUT' && has('uploadId') && !hasOtherSubresources(query, ['uploadId', 'partNumber'])) {
      return this.uploadPart(request, parsed);
    } else if (method === 'PUT' && !hasOtherSubresources(query, []) && !request.headers.has('x-oss-copy-source')) {
      return this.putObjectRequest(request, parsed, requestId);
    } else if (method === 'POST' && has('uploads') && !hasOtherSubresources(query, ['uploads'])) {
      return this.initiateMultipartUpload(request, parsed);
    } else if (method === 'POST' && has('uploadId') && !hasOtherSubresources(query, ['uploadId'])) {
      return this.completeMultipartUpload(request, parsed, requestId);
    } else if ((method === 'GET' || method === 'HEAD') && !hasOtherSubresources(query, method === 'HEAD' ? ['objectMeta'] : [])) {
      return this.getObject(request, parsed);
    } else if (method === 'DELETE' && has('uploadId') && !hasOtherSubresources(query, ['uploadId'])) {
      this.multipart.abort(parsed.bucket, key, query.get('uploadId'));
      return Promise.resolve(new Response(null, { status: 204 }));
    } else if (method === 'DELETE' && !hasOtherSubresources(query, [])) {
      return this.backend.delete(parsed.bucket, key).then(() => new Response(null, { status: 204 }));
    }
    throw new ServiceError(501, 'NotImplemented', `The OSS emulator does not implement ${method} ${[...query.keys()].join('&') || '(plain)'}.`);
  }

  private async putObjectRequest(request: Request, { bucket, key }: ParsedRequest, requestId: string): Promise<Response> {
    rejectConditionalWrite(request.headers);
    const write: StoreWrite = { forbidOverwrite: forbidsOverwrite(request.headers), eventName: 'ObjectCreated:PutObject', requestId };
    const contentType = request.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE;
    const { meta, digest } =
      this.backend.putStream !== undefined && request.body !== null
        ? await this.putStreamed(request, request.body, bucket, key, contentType, write)
        : await this.putBuffered(request, bucket, key, contentType, write);
    return new Response(null, { status: 200, headers: writeHeaders(meta.etag, meta.crc64, digest.toString('base64')) });
  }

  private async putBuffered(request: Request, bucket: string, key: string, contentType: string, write: StoreWrite): Promise<{ meta: ObjectMeta; digest: Buffer }> {
    const bytes = await readBody(request);
    verifyContentMd5(request.headers, bytes);
    const digest = md5(bytes);
    const meta = await this.store(bucket, key, bytes, this.describeNewObject(bytes, quotedEtag(digest), contentType, 'Normal'), write);
    return { meta, digest };
  }

  /** The body goes to the backend as it arrives, with its digests computed on the way. */
  private async putStreamed(
    request: Request,
    body: ReadableStream<Uint8Array>,
    bucket: string,
    key: string,
    contentType: string,
    write: StoreWrite,
  ): Promise<{ meta: ObjectMeta; digest: Buffer }> {
    let digest: Buffer = Buffer.alloc(0);
    // Node's web streams are async iterable; the DOM typings in use do not say so.
    const pieces = body as unknown as AsyncIterable<Uint8Array>;
    const meta = await this.writeObject(bucket, key, write, () =>
      this.backend.putStream!(bucket, key, pieces, (written) => {
        verifyContentMd5Digest(request.headers, written.md5);
        digest = written.md5;
        return this.newObjectMeta(written.size, quotedEtag(written.md5), written.crc64, contentType, 'Normal');
      }),
    );
    return { meta, digest };
  }

  private async initiateMultipartUpload(request: Request, { bucket, key }: ParsedRequest): Promise<Response> {
    if (forbidsOverwrite(request.headers) && (await this.backend.get(bucket, key)) !== undefined) throw fileAlreadyExists(key);
    const uploadId = this.multipart.initiate(bucket, key, request.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE);
    return xmlResponse(xmlDocument('InitiateMultipartUploadResult', [element('Bucket', bucket), element('Key', key), element('UploadId', uploadId)]));
  }

  private async uploadPart(request: Request, { bucket, key, query }: ParsedRequest): Promise<Response> {
    const part = this.multipart.uploadPart(bucket, key, query, request.headers, await readBody(request));
    return new Response(null, { status: 200, headers: writeHeaders(part.etag, part.crc64, part.contentMd5) });
  }

  private async completeMultipartUpload(request: Request, { bucket, key, query }: ParsedRequest, requestId: string): Promise<Response> {
    const forbidOverwrite = forbidsOverwrite(request.headers);
    const assembled = this.multipart.complete(bucket, key, query, request.headers, await readBody(request));
    const meta = await this.store(bucket, key, assembled.bytes, this.describeNewObject(assembled.bytes, assembled.etag, assembled.contentType, 'Multipart'), {
      forbidOverwrite,
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      requestId,
    });
    const body = xmlDocument('CompleteMultipartUploadResult', [
      element('Location', `http://${hostIdOf(bucket, this.options.region)}/${key}`),
      element('Bucket', bucket),
      element('Key', key),
      element('ETag', meta.etag),
    ]);
    const response = xmlResponse(body);
    writeHeaders(meta.etag, meta.crc64).forEach((value, name) => response.headers.set(name, value));
    return response;
  }

  private async getObject(request: Request, { bucket, key, method }: ParsedRequest): Promise<Response> {
    const object = await this.backend.get(bucket, key);
    if (object === undefined) throw new ServiceError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const headers = objectHeaders(object);
    if (evaluatePreconditions(request.headers, object.etag) === 'not-modified') return new Response(null, { status: 304, headers });
    const range = resolveRange(request.headers, object.size);
    const start = range?.start ?? 0;
    const end = range === undefined ? object.size : range.end + 1;
    headers.set('content-length', String(end - start));
    if (range !== undefined) headers.set('content-range', `bytes ${range.start}-${range.end}/${object.size}`);
    const status = range === undefined ? 200 : 206;
    if (method === 'HEAD') return new Response(null, { status, headers });
    return new Response(streamOf(object.read(start, end)), { status, headers });
  }

  private async listObjects({ bucket, query }: ParsedRequest): Promise<Response> {
    return xmlResponse(listObjectsXml(bucket, this.options.accountId, await this.backend.list(bucket), query));
  }

  private describeNewObject(bytes: Uint8Array, etag: string, contentType: string, objectType: ObjectMeta['objectType']): ObjectMeta {
    return this.newObjectMeta(bytes.byteLength, etag, new Crc64().update(bytes).digest(), contentType, objectType);
  }

  private newObjectMeta(size: number, etag: string, crc64: string, contentType: string, objectType: ObjectMeta['objectType']): ObjectMeta {
    // Whole seconds, as Last-Modified carries them: an object's date then reads back the same everywhere.
    const lastModified = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    return { size, etag, crc64, lastModified, contentType, objectType };
  }

  private async store(bucket: string, key: string, bytes: Uint8Array, meta: ObjectMeta, write: StoreWrite): Promise<ObjectMeta> {
    // OSS decides create-if-absent atomically; the backend's get and put are two awaits, so writes
    // to one key queue behind each other or two concurrent forbid-overwrite PUTs could both win.
    return this.writeObject(bucket, key, write, async () => {
      await this.backend.put(bucket, key, bytes, meta);
      return meta;
    });
  }

  /** Checks forbid-overwrite, stores with `put` and announces the new object, queued per key. */
  private writeObject(bucket: string, key: string, write: StoreWrite, put: () => Promise<ObjectMeta>): Promise<ObjectMeta> {
    return this.writes.run(`${bucket}/${key}`, async () => {
      const previous = await this.backend.get(bucket, key);
      if (write.forbidOverwrite && previous !== undefined) throw fileAlreadyExists(key);
      const meta = await put();
      this.notify(this.record(write.eventName, bucket, key, meta, meta.size - (previous?.size ?? 0), write.requestId));
      return meta;
    });
  }

  private record(eventName: ObjectCreatedEventName, bucket: string, key: string, meta: ObjectMeta, deltaSize: number, requestId: string): OssEventRecord {
    const { region, accountId } = this.options;
    return objectCreatedRecord({ eventName, bucket, key, meta, deltaSize, requestId, region, accountId });
  }

  /** A failing listener is a broken test, not an upload failure: report it without failing the PUT. */
  private notify(record: OssEventRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private errorResponse(error: ServiceError, method: string, requestId: string, bucket: string): Response {
    // HEAD answers carry no body, errors included (alibaba-cloud.md §6.5).
    if (method === 'HEAD') return new Response(null, { status: error.status });
    return xmlResponse(errorXml(error, requestId, hostIdOf(bucket, this.options.region)), error.status);
  }
}

/**
 * Path-style for IP and localhost endpoints (ali-oss `sldEnable`), virtual-host style otherwise:
 * the bucket is then the first label of the URL's host. The key is decoded once, so `%2B` is `+`.
 */
function parseRequest(request: Request): ParsedRequest {
  const url = new URL(request.url);
  const pathStyle = isLoopbackOrIp(url.hostname);
  const path = url.pathname.slice(1);
  const slash = path.indexOf('/');
  const bucket = pathStyle ? (slash === -1 ? path : path.slice(0, slash)) : (url.hostname.split('.')[0] ?? '');
  const encodedKey = pathStyle ? (slash === -1 ? '' : path.slice(slash + 1)) : path;
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    // An undecodable key is answered by the error path with the key kept as sent.
    key = encodedKey;
  }
  return { method: request.method.toUpperCase(), bucket, key, query: url.searchParams };
}

function isLoopbackOrIp(hostname: string): boolean {
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

function describe({ method, bucket, key, query }: ParsedRequest): OssRequestTarget {
  return { method, bucket, key, query: Object.fromEntries(query) };
}

/** True when the query names a sub-resource other than those `allowed`: an operation we do not emulate. */
function hasOtherSubresources(query: URLSearchParams, allowed: readonly string[]): boolean {
  return [...query.keys()].some((name) => isSubresource(name) && !allowed.includes(name));
}

function fileAlreadyExists(key: string): ServiceError {
  return new ServiceError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.', { Key: key });
}

function hostIdOf(bucket: string, region: string): string {
  return `${bucket}.oss-${region}.aliyuncs.com`;
}

function writeHeaders(etag: string, crc64: string | undefined, contentMd5?: string): Headers {
  const headers = new Headers({ etag });
  if (crc64 !== undefined) headers.set('x-oss-hash-crc64ecma', crc64);
  if (contentMd5 !== undefined) headers.set('content-md5', contentMd5);
  return headers;
}

function xmlResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/xml' } });
}

/** Runs tasks one at a time per key, in arrival order; different keys do not wait for each other. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
