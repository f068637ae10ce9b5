/** `layer-publisher`: check, publish and follow layers from the uploader's side. */
import { dropCutRequestEchoes } from './cut-request-echo';
import { runCli } from './run';
import { pipeWriter } from '../console/stdio';

dropCutRequestEchoes();

const err = pipeWriter(process.stderr);
void runCli(process.argv.slice(2), {
  out: pipeWriter(process.stdout),
  err,
  env: process.env,
  interactive: process.stderr.isTTY === true,
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Only a bug gets here: every mistake and outside failure is a CliError or ConfigError, printed by runCli.
    err(`layer-publisher: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
