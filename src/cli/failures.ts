import type OSS from 'ali-oss';
import { EXIT_DENIED, EXIT_FAILED, EXIT_NO_SUCH_BUCKET, EXIT_UNREACHABLE, ServiceError } from '../console/io';

/** What ali-oss puts on its errors; its typings do not describe them. */
interface OssErrorFields {
  status?: number;
  code?: string;
  name?: string;
  message?: string;
}

/** ali-oss keeps the bucket and the parsed endpoint on the client; its typings do not describe them. */
interface ClientOptions {
  options: { bucket?: string; endpoint?: { format(): string } };
}

/** "bucket b at https://oss-cn-hangzhou.aliyuncs.com": where a request went, for messages. */
export function whereOf(client: OSS): string {
  const { bucket, endpoint } = (client as unknown as ClientOptions).options;
  return `bucket ${bucket ?? '(none)'} at ${endpoint?.format().replace(/\/$/, '') ?? 'the default endpoint'}`;
}

/**
 * An ali-oss failure as one line a person can act on, with the exit code for its kind: OSS out of
 * reach, credentials refused, no such bucket, or another answer quoted with its status and code.
 * `action` says what the command was doing ("uploading layers/a.zip").
 */
export function ossFailure(client: OSS, action: string, error: unknown): ServiceError {
  const { status, code, name = '', message = '' } = error as OssErrorFields;
  const where = whereOf(client);
  const said = oneLine(message);
  // ali-oss: status -1 is a network error, -2 a timeout.
  if (status === -1 || status === -2 || name.endsWith('TimeoutError')) {
    // After the first ", " ali-oss appends the request line and its agent's socket counts: not for people.
    return new ServiceError(`${action}: cannot reach OSS (${where}): ${said.split(', ')[0]}`, EXIT_UNREACHABLE);
  }
  if (code === 'NoSuchBucket') {
    return new ServiceError(`${action}: no such ${where}; check --bucket and --endpoint or --region`, EXIT_NO_SUCH_BUCKET);
  }
  if (status === 403) {
    return new ServiceError(
      `${action}: access denied by ${where}: ${code ?? 'AccessDenied'}: ${said}; check ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and the key's permissions`,
      EXIT_DENIED,
    );
  }
  const answer = `${where} answered ${[status, code].filter((part) => part !== undefined).join(' ')}: ${said}`;
  return new ServiceError(`${action}: ${answer}`, status !== undefined && status >= 500 ? EXIT_UNREACHABLE : EXIT_FAILED);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
