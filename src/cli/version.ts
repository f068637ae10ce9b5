import { version } from '../../package.json';

/** The package's version, bundled into the CLI so `--version` needs no package.json beside it. */
export const VERSION: string = version;
