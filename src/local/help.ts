import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, EXIT_PORT_IN_USE, EXIT_USAGE, EXIT_WAITING } from '../console/io';

/**
 * `npm start -- --help` is plain text in this folder so that scripts/start.mjs prints it before any
 * build; test/local/start-help.test.ts checks it against the defaults and these codes.
 */
export const START_HELP_FILE = join('src', 'local', 'help.txt');

/** The codes `npm start` ends with, as its help states them. */
export const START_EXIT_CODES = [EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PORT_IN_USE, EXIT_WAITING] as const;

/** The help text, from the repository at `root` (dist/local.js runs from `<root>/dist`). */
export function startHelp(root: string): string {
  return readFileSync(join(root, START_HELP_FILE), 'utf8');
}
