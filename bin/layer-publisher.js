#!/usr/bin/env node
// The `layer-publisher` command. package.json's `bin` points here, at a file that is always there,
// rather than at the bundle: npm links a bin only when its target exists, and npx remembers a link
// it could not make, so a bin pointing at an unbuilt bundle would stay "not found" after the build.

const { existsSync } = require('node:fs');
const { join, relative } = require('node:path');

/** The CLI bundle that scripts/build-tools.mjs writes: the one place its path is named for the bin. */
const CLI_BUNDLE = join(__dirname, '..', 'dist', 'cli.js');

if (existsSync(CLI_BUNDLE)) {
  require(CLI_BUNDLE);
} else {
  const root = join(__dirname, '..');
  process.stderr.write(
    `layer-publisher is not built yet: ${relative(process.cwd(), CLI_BUNDLE) || CLI_BUNDLE} is missing; run npm run build (or npm start) in ${root}\n`,
  );
  process.exitCode = 2;
}
