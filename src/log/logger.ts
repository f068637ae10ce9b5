import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';

/**
 * One JSON object per line on stdout (docs/contract.md §8), with the invocation's request id on every line.
 * Secrets never reach a line: the invocation's own secret values are scrubbed from every string,
 * and anything shaped like a signature or a token is masked, whatever path it took to get here.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(step: string, fields?: Fields): void;
  info(step: string, fields?: Fields): void;
  warn(step: string, fields?: Fields): void;
  error(step: string, fields?: Fields): void;
  child(fields: Fields): Logger;
  /** Removes secrets from a value before it is logged or written anywhere else. */
  redact<T>(value: T): T;
}

export interface LoggerOptions {
  requestId?: string | undefined;
  /** Values that must never appear anywhere: the access key secret and the security token. */
  secrets?: readonly (string | undefined)[];
  write?: (line: string) => void;
  minLevel?: Level;
}

const LEVEL_RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const MASK = '[redacted]';
const SECRET_FIELD = /secret|token|signature|authorization|password|credential/i;
const SIGNATURE_PATTERNS: readonly RegExp[] = [
  // OSS V1 and FC Authorization headers: "OSS <ak>:<sig>", "FC <ak>:<sig>".
  /\b(OSS|FC) [A-Za-z0-9.]+:[A-Za-z0-9+/=]{8,}/g,
  /\bOSS4-HMAC-SHA256 [^\s"']+/g,
  // `Signature=` (V1 presigned URLs), `x-oss-signature=` (V4) and the tokens that ride along.
  /([?&](?:[\w-]*signature|[\w-]*security-token|OSSAccessKeyId)=)[^&\s"']+/gi,
];

export function createLogger(options: LoggerOptions = {}, bound: Fields = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const minRank = LEVEL_RANK[options.minLevel ?? 'info'];

  const scrubString = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join(MASK);
    for (const pattern of SIGNATURE_PATTERNS) {
      out = out.replace(pattern, (match, prefix: unknown) =>
        typeof prefix === 'string' && match.startsWith(prefix) && prefix.endsWith('=') ? `${prefix}${MASK}` : MASK,
      );
    }
    return out;
  };

  const redact = <T>(value: T): T => redactValue(value, scrubString, new WeakSet()) as T;

  const emit = (level: Level, step: string, fields: Fields = {}): void => {
    if (LEVEL_RANK[level] < minRank) return;
    const line = redact({
      time: new Date().toISOString(),
      level,
      requestId: options.requestId,
      step,
      ...bound,
      ...fields,
    });
    write(`${JSON.stringify(line)}\n`);
  };

  return {
    debug: (step, fields) => emit('debug', step, fields),
    info: (step, fields) => emit('info', step, fields),
    warn: (step, fields) => emit('warn', step, fields),
    error: (step, fields) => emit('error', step, fields),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
    redact,
  };
}

function redactValue(value: unknown, scrub: (s: string) => string, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) return redactValue(describeError(value), scrub, seen);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, scrub, seen));
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    // Header maps may hold a secret as a string or as an array of strings.
    const secretValue = typeof inner === 'string' || (Array.isArray(inner) && inner.every((item) => typeof item === 'string'));
    out[key] = SECRET_FIELD.test(key) && secretValue ? MASK : redactValue(inner, scrub, seen);
  }
  return out;
}

/** The parts of an error worth a log line: never its whole object (SDK errors carry request params). */
export function describeError(error: Error): Fields {
  const fields: Fields = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') fields.code = code;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') fields.status = status;
  if (error.cause instanceof Error) fields.cause = describeError(error.cause);
  return fields;
}

const invocationLogger = new AsyncLocalStorage<Logger>();
let consoleRouted = false;

/**
 * Runs `fn` with `console.*` sent through `logger` as JSON lines: the SDKs print warnings with
 * console (ali-oss warns on every STS client), and those lines must be JSON and secret-free too.
 * AsyncLocalStorage keeps concurrent invocations on one instance apart.
 */
export function withConsoleRouted<T>(logger: Logger, fn: () => Promise<T>): Promise<T> {
  routeConsoleOnce();
  return invocationLogger.run(logger, fn);
}

function routeConsoleOnce(): void {
  if (consoleRouted) return;
  consoleRouted = true;
  const levels: Array<[keyof Console, Level]> = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['trace', 'debug'],
  ];
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const [method, level] of levels) {
    const original = target[method]!.bind(console);
    // Outside an invocation (the process hosting the handler) console stays as it was.
    target[method] = (...args: unknown[]) => {
      const logger = invocationLogger.getStore();
      if (logger) logger[level]('library', { message: format(...args) });
      else original(...args);
    };
  }
}
