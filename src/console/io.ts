import { LayerPublisherError } from '../errors';
import type { TableOptions } from './format';

/** Where a command writes; tests pass their own to read what was printed. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** True when stderr is a terminal: only then is a progress bar drawn. */
  interactive: boolean;
  /** stdout's width when it is a terminal: tables are fitted to it (unless --wide). */
  columns?: number | undefined;
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
/** `npm start --once`: a zip or manifest still waits for the other half of its pair. */
export const EXIT_WAITING = 8;

/** What each exit code means, in the words every `--help` uses (exitCodesHelp). */
const EXIT_MEANINGS: Record<number, string> = {
  [EXIT_OK]: 'done',
  [EXIT_FAILED]: 'a layer refused or failed',
  [EXIT_USAGE]: 'a mistake in the call (flag, argument, file, variable)',
  [EXIT_TIMEOUT]: 'no result in time',
  [EXIT_UNREACHABLE]: 'OSS or FC out of reach or answering 5xx',
  [EXIT_DENIED]: 'credentials refused',
  [EXIT_NO_SUCH_BUCKET]: 'no such bucket',
  [EXIT_PORT_IN_USE]: 'a port or the data folder already in use',
  [EXIT_WAITING]: 'a pair still waits for its zip or manifest',
};

/**
 * The `Exit codes:` line of a command's help, from the codes it can end with; `meanings` says what a
 * code means for that command where the general words would be vague ("1 drift found"). A test
 * parses this line back and compares it with what each command does.
 */
export function exitCodesHelp(codes: readonly number[], meanings: Readonly<Record<number, string>> = {}): string {
  return `Exit codes: ${codes.map((code) => `${code} ${meanings[code] ?? EXIT_MEANINGS[code] ?? ''}`.trimEnd()).join(', ')}.\n`;
}

/**
 * Something the person running the command can act on: printed as one line without a stack, exit
 * code `exitCode`. This class is a usage mistake; subclasses are failures outside the command.
 */
export class CliError extends LayerPublisherError {
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

/** Tables as wide as the terminal, or whole with --wide (and whenever stdout is not a terminal). */
export function tableOptions(values: Readonly<Record<string, unknown>>, io: CliIo): TableOptions {
  return { width: values.wide === true ? undefined : io.columns };
}
