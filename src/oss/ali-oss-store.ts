import type OSS from 'ali-oss';
import type { Readable } from 'node:stream';
import { PreconditionFailedError, PublisherError, RangeNotServedError, TransientError } from '../errors';
import type { Credentials, OssSignature } from '../config';
import type { ObjectHead, ObjectStore, ObjectTooLarge, StreamOptions, WrittenObject } from './store';
import { unquote } from './store';

export interface OssStoreOptions {
  bucket: string;
  /**
   * The bucket's region id (`cn-hangzhou`; an `oss-` prefix is dropped). V4 signs it into the
   * credential scope and OSS refuses any other; ali-oss also wants it as a host prefix (`oss-cn-hangzhou`).
   */
  region: string;
  endpoint: URL | undefined;
  credentials: Credentials;
  /** V4 (`authorizationV4`, the default) unless the user asked for V1 (`OSS_SIGNATURE=v1`) for an old bucket. */
  signature?: OssSignature;
  /** Per-request limit; kept under the invocation's remaining time by the caller. */
  timeoutMs: number;
}

/** The only file that knows ali-oss: turns its calls and its error shapes into the ObjectStore contract. */
export function createOssStore(options: OssStoreOptions): ObjectStore {
  const region = regionId(options.region);
  const endpoint = options.endpoint ?? new URL(`https://oss-${region}-internal.aliyuncs.com`);
  const clientOptions: OSS.Options = {
    bucket: options.bucket,
    // ali-oss strips the `oss-` again for the V4 scope (its getStandardRegion).
    region: `oss-${region}`,
    endpoint: endpoint.origin,
    secure: endpoint.protocol === 'https:',
    accessKeyId: options.credentials.accessKeyId,
    accessKeySecret: options.credentials.accessKeySecret,
    ...(options.credentials.securityToken
      ? {
          stsToken: options.credentials.securityToken,
          // The token lives as long as the invocation; an interval without a refresh function
          // only stops ali-oss warning on stderr for every client.
          refreshSTSTokenInterval: 36 * 3600 * 1000,
        }
      : {}),
    timeout: options.timeoutMs,
    authorizationV4: (options.signature ?? 'v4') === 'v4',
    // A loopback or IP endpoint has no bucket host name: address it path-style (docs/contract.md §2).
    // `sldEnable` is missing from @types/ali-oss.
    ...({ sldEnable: isPathStyle(endpoint) } as object),
  };
  // ali-oss and its dependencies are loaded by the first request, not when the store is made: an
  // invocation that sends none never pays for them (src/handler.ts builds its stores on first use too).
  let connecting: Promise<OSS> | undefined;
  const connect = () => (connecting ??= import('ali-oss').then(({ default: Client }) => new Client(clientOptions)));
  const { bucket } = options;

  return {
    bucket,

    async head(key) {
      const client = await connect();
      try {
        const result = await client.head(key);
        return headFrom(result.res.headers as Record<string, string | undefined>);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw translate(error, 'HeadObject', bucket, key);
      }
    },

    async read(key, maxBytes) {
      const client = await connect();
      let result: { stream: Readable; res: { headers: unknown } };
      try {
        result = (await client.getStream(key)) as typeof result;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw translate(error, 'GetObject', bucket, key);
      }
      const head = headFrom(result.res.headers as Record<string, string | undefined>);
      if (head.size > maxBytes) {
        result.stream.destroy();
        return { tooLarge: true, size: head.size } satisfies ObjectTooLarge;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      try {
        for await (const chunk of result.stream) {
          total += (chunk as Buffer).length;
          // A missing or wrong Content-Length must not let a huge body in.
          if (total > maxBytes) {
            result.stream.destroy();
            return { tooLarge: true, size: total } satisfies ObjectTooLarge;
          }
          chunks.push(chunk as Buffer);
        }
      } catch (error) {
        throw translate(error, 'GetObject', bucket, key);
      }
      return { body: Buffer.concat(chunks, total), head };
    },

    async list(prefix, maxKeys) {
      const client = await connect();
      try {
        // No empty prefix=: ali-oss V4 signs it as `prefix=`, OSS as `prefix`.
        const page = await client.list({ ...(prefix ? { prefix } : {}), delimiter: '/', 'max-keys': maxKeys }, {});
        return (page.objects ?? []).map((object) => object.name);
      } catch (error) {
        throw translate(error, 'ListObjects', bucket, prefix);
      }
    },

    async stream(key, streamOptions: StreamOptions) {
      const client = await connect();
      const { range } = streamOptions;
      const headers: Record<string, string> = { 'If-Match': `"${unquote(streamOptions.ifMatch)}"` };
      if (range) {
        headers.Range = `bytes=${range.start}-${range.end}`;
        // Without it OSS answers a range it cannot serve with the whole object and a 200 (docs/reference/alibaba-cloud.md §6.4).
        headers['x-oss-range-behavior'] = 'standard';
      }
      let result: { stream: Readable; res: { status: number; headers: unknown } };
      try {
        result = (await client.getStream(key, { headers })) as typeof result;
      } catch (error) {
        throw translate(error, 'GetObject', bucket, key);
      }
      const responseHeaders = result.res.headers as Record<string, string | undefined>;
      const head = headFrom(responseHeaders);
      if (range) {
        const served = parseContentRange(responseHeaders['content-range']);
        if (result.res.status !== 206 || served?.start !== range.start || served.end !== range.end) {
          result.stream.destroy();
          throw new RangeNotServedError(
            `OSS GetObject of ${key} asked for bytes ${range.start}-${range.end} but got HTTP ${result.res.status} ` +
              `with content-range ${JSON.stringify(responseHeaders['content-range'] ?? null)}`,
            { context: { bucket, key, operation: 'GetObject', status: result.res.status } },
          );
        }
        // The object's size, not the range's: ObjectHead describes the version.
        head.size = served.size;
      }
      return { body: result.stream, head };
    },

    async put(key, body, putOptions) {
      const client = await connect();
      const headers: Record<string, string> = {};
      if (putOptions.forbidOverwrite) headers['x-oss-forbid-overwrite'] = 'true';
      try {
        await client.put(key, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), {
          mime: putOptions.contentType,
          headers,
        });
        return 'created';
      } catch (error) {
        // 409 is FileAlreadyExists for a forbid-overwrite PUT; its body is not needed to know that.
        if (putOptions.forbidOverwrite && statusOf(error) === 409) {
          return 'exists';
        }
        throw translate(error, 'PutObject', bucket, key);
      }
    },

    async putStream(key, body, putOptions) {
      const client = await connect();
      try {
        // With a length ali-oss sends Content-Length rather than chunked encoding. The typings make
        // timeout, meta and callback required; ali-oss treats them as optional.
        const streamOptions = { contentLength: putOptions.size, mime: putOptions.contentType } as OSS.PutStreamOptions;
        const result = await client.putStream(key, body, streamOptions);
        return writtenFrom(result.res.headers);
      } catch (error) {
        throw translate(error, 'PutObject', bucket, key);
      }
    },

    async createMultipartUpload(key, uploadOptions) {
      const client = await connect();
      try {
        return (await client.initMultipartUpload(key, { mime: uploadOptions.contentType })).uploadId;
      } catch (error) {
        throw translate(error, 'InitiateMultipartUpload', bucket, key);
      }
    },

    async uploadPart(key, uploadId, partNumber, body, size) {
      const client = await connect();
      try {
        // The public uploadPart reads a file by path; `_uploadPart` is the same request with a stream.
        const result = await (client as unknown as PartUploader)._uploadPart(key, uploadId, partNumber, { stream: body, size });
        return { ...writtenFrom(result.res.headers), partNumber, size };
      } catch (error) {
        throw translate(error, 'UploadPart', bucket, key);
      }
    },

    async completeMultipartUpload(key, uploadId, parts) {
      const client = await connect();
      try {
        const listed = parts.map((part) => ({ number: part.partNumber, etag: `"${part.etag}"` }));
        const result = await client.completeMultipartUpload(key, uploadId, listed);
        return writtenFrom(result.res.headers);
      } catch (error) {
        throw translate(error, 'CompleteMultipartUpload', bucket, key);
      }
    },

    async abortMultipartUpload(key, uploadId) {
      const client = await connect();
      try {
        await client.abortMultipartUpload(key, uploadId);
      } catch (error) {
        // Gone already (completed or aborted by another attempt): nothing is left to clean up.
        if (statusOf(error) === 404) return;
        throw translate(error, 'AbortMultipartUpload', bucket, key);
      }
    },
  };
}

/** ali-oss's private part upload, missing from @types/ali-oss. */
interface PartUploader {
  _uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    data: { stream: Readable; size: number },
  ): Promise<{ res: { headers: Record<string, string | undefined> } }>;
}

function writtenFrom(headers: unknown): WrittenObject {
  const values = headers as Record<string, string | undefined>;
  return { etag: unquote(values.etag ?? ''), crc64: values['x-oss-hash-crc64ecma'] || undefined };
}

/** `oss-cn-hangzhou` (ali-oss's spelling) and `cn-hangzhou` (FC's, the event record's) name one region. */
export function regionId(region: string): string {
  return region.trim().replace(/^oss-/, '');
}

/**
 * The URL parser has already written any IP host in one form (`http://127.1` has hostname `127.0.0.1`,
 * IPv6 is bracketed), so its shape is enough; node:net's isIP would load the net module at start-up.
 */
const IP_HOSTNAME = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[\da-f:.]+\])$/i;

function isPathStyle(endpoint: URL): boolean {
  const host = endpoint.hostname;
  return IP_HOSTNAME.test(host) || host === 'localhost' || host.endsWith('.localhost');
}

function headFrom(headers: Record<string, string | undefined>): ObjectHead {
  const size = Number(headers['content-length'] ?? NaN);
  return {
    // Kept as OSS wrote it (If-Match must send it back exactly); compared with sameEtag.
    etag: unquote(headers.etag ?? ''),
    size: Number.isFinite(size) ? size : NaN,
    lastModified: headers['last-modified'] ?? '',
    crc64: headers['x-oss-hash-crc64ecma'] || undefined,
    answeredAt: headers.date || undefined,
  };
}

function parseContentRange(value: string | undefined): { start: number; end: number; size: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? '');
  return match ? { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) } : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * ali-oss parses no error body on GET-stream and HEAD (docs/reference/alibaba-cloud.md §0.3), and reports network
 * failures as status -1 / -2: branch on the status, quote the code when there is one.
 */
function translate(error: unknown, operation: string, bucket: string, key: string): Error {
  if (error instanceof PublisherError) return error;
  const status = statusOf(error);
  const code = codeOf(error);
  const context = { bucket, key, operation, status, ossCode: code };
  if (status === 412) {
    return new PreconditionFailedError(`OSS ${operation} of ${key}: the object was replaced while it was read`, {
      cause: error,
    });
  }
  const detail = describe(error, status, code);
  if (status === undefined || status < 0 || status === 429 || status >= 500 || isNetworkCode(code)) {
    return new TransientError(`OSS ${operation} of ${key} failed: ${detail}`, { cause: error, context });
  }
  // Access denied, a missing bucket and the like will not pass by retrying inside this invocation,
  // but rejecting lets Function Compute deliver the event again once an operator fixes it.
  return new PublisherError('Unavailable', `OSS ${operation} of ${key} failed: ${detail}`, {
    cause: error,
    context,
    retryable: true,
  });
}

function isNetworkCode(code: string | undefined): boolean {
  return code !== undefined && /^(E[A-Z]+|.*Timeout.*|.*ConnectionError|.*ResponseError)$/.test(code);
}

function describe(error: unknown, status: number | undefined, code: string | undefined): string {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return [status !== undefined && status > 0 ? `HTTP ${status}` : undefined, code, message].filter(Boolean).join(' ');
}
