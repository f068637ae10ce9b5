/**
 * The one root of every error this repository throws (the emulators' service errors aside, which
 * model the services' own answers). A subclass sets `name`. Only the coded family under
 * `PublisherError` goes into a result; the others end a start-up or a command.
 */
export abstract class LayerPublisherError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A result's `error.code` (docs/contract.md §6): a fixed vocabulary users look up in the README. */
export const ERROR_CODES = [
  'EventInvalid',
  'ManifestInvalid',
  'ManifestTooLarge',
  'LayerNotAllowed',
  'ZipInvalid',
  'ZipTooLarge',
  'ZipLayoutInvalid',
  'ChecksumMismatch',
  'CodeChecksumMismatch',
  'FcRejected',
  'Unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PublisherErrorOptions {
  cause?: unknown;
  /** Facts a person needs to act on the error (key, field, limit); never a secret. */
  context?: Record<string, unknown>;
}

/**
 * A coded failure, as a result carries it (`code`, `retryable`, `context`): `retryable` says whether
 * Function Compute should deliver the event again. Code that means "a failure that goes into a
 * result" tests for this class, never for the root.
 */
export class PublisherError extends LayerPublisherError {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PublisherErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.name = 'PublisherError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

/** Bad input: the event, the manifest or the zip. Retrying cannot help. */
export class InvalidInputError extends PublisherError {
  constructor(code: Exclude<ErrorCode, 'Unavailable' | 'FcRejected' | 'CodeChecksumMismatch'>, message: string, options?: PublisherErrorOptions) {
    super(code, message, options);
    this.name = 'InvalidInputError';
  }
}

/** Function Compute refused the request for good (a 4xx other than 429 and 409 ConcurrentUpdateError). */
export class FcRejectedError extends PublisherError {
  constructor(message: string, options?: PublisherErrorOptions) {
    super('FcRejected', message, options);
    this.name = 'FcRejectedError';
  }
}

/** FC reported a code checksum other than the CRC we read; the version it made was deleted. */
export class CodeChecksumMismatchError extends PublisherError {
  constructor(message: string, options?: PublisherErrorOptions) {
    super('CodeChecksumMismatch', message, options);
    this.name = 'CodeChecksumMismatchError';
  }
}

/** A failure that may pass (5xx, 429, throttling, a dropped connection, a timeout). */
export class TransientError extends PublisherError {
  constructor(message: string, options?: PublisherErrorOptions) {
    super('Unavailable', message, { ...options, retryable: true });
    this.name = 'TransientError';
  }
}

/** A ranged GET answered with something other than that range: the endpoint may not serve ranges. */
export class RangeNotServedError extends TransientError {
  constructor(message: string, options?: PublisherErrorOptions) {
    super(message, options);
    this.name = 'RangeNotServedError';
  }
}

/** Configuration that cannot work; names the variable. Thrown at start, never written as a result. */
export class ConfigError extends LayerPublisherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A GET with `If-Match` found another version of the object: a newer upload replaced it. */
export class PreconditionFailedError extends LayerPublisherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PreconditionFailedError';
  }
}
