/** Where a command writes; tests pass their own to read what was printed. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** True when stderr is a terminal: only then is a progress bar drawn. */
  interactive: boolean;
}

/**
 * The exit codes of `layer-publisher` and `npm start`, as README's table documents them: a script
 * can tell a mistake in its own call (2) from a layer that was refused (1) from an outside failure
 * it may retry or escalate (4 to 7).
 */
export const EXIT_OK = 0;
/** The layer was checked or handled, and it was refused or failed. */
export const EXIT_FAILED = 1;
/** A mistake in the call: a flag, an argument, a file, an environment variable; the message names it. */
export const EXIT_USAGE = 2;
/** No result appeared in time. */
export const EXIT_TIMEOUT = 3;
/** OSS could not be reached (connection refused, no such host, timeout) or answered 5xx. */
export const EXIT_UNREACHABLE = 4;
/** OSS refused the credentials (403: access denied, unknown key, bad signature, expired token). */
export const EXIT_DENIED = 5;
/** The bucket does not exist at that endpoint. */
export const EXIT_NO_SUCH_BUCKET = 6;
/** `npm start`: a local port is already taken. */
export const EXIT_PORT_IN_USE = 7;

/**
 * Something the person running the command can act on: printed as one line without a stack, exit
 * code `exitCode`. This class is a usage mistake; subclasses are failures outside the command.
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number = EXIT_USAGE;
}

/** OSS answered, or could not be reached, in a way that is not the layer's fault. */
export class ServiceError extends CliError {
  override name = 'ServiceError';
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}
