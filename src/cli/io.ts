/** Where a command writes; tests pass their own to read what was printed. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** True when stderr is a terminal: only then is a progress bar drawn. */
  interactive: boolean;
}

/** A mistake in how the command was called (a flag, a file): printed without a stack, exit code 2. */
export class CliError extends Error {
  override name = 'CliError';
}

export const EXIT_OK = 0;
/** The layer was checked or handled, and it failed. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** No result appeared in time. */
export const EXIT_TIMEOUT = 3;
