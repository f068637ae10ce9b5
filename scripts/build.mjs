// Bundles the function into dist/index.js: one CommonJS file that runs with no node_modules beside it,
// and copies it alone into dist/function/, the folder s.yaml deploys (dist/ also holds the CLI, the local
// stack, crc64.js and meta.json, none of which belongs in the function's code package).
// `--outdir <dir>` writes it elsewhere (tests build their own copy rather than race over dist/).
import { build } from 'esbuild';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packages the SDKs require at load time only for APIs the publisher never calls (docs/reference/testing.md §7). Each is
 * replaced by a module that throws on any use, and warns first, because urllib swallows the iconv-lite
 * error (it then leaves the body undecoded): nothing degrades quietly.
 */
export const STUBBED = {
  // @alicloud/fc2 lib/client.js: only its WebSocket APIs (invoke with a stream, logs tailing).
  ws: 'only @alicloud/fc2 WebSocket APIs use it',
  // @alicloud/fc2 lib/client.js: only publishLayerVersionForBigCode and the STS refresh of its OSS upload.
  axios: 'only @alicloud/fc2 publishLayerVersionForBigCode uses it',
  // urllib: only to decode a text body whose charset Node does not know (GBK and the like); 46% of the bundle.
  'iconv-lite': 'urllib needs it only for response charsets Node cannot decode',
  // @alicloud/openapi-util: only its model and form helpers; getAuthorization, hash, hexEncode, getEncodeParam
  // and getTimestamp (all the publisher calls) use node:crypto and kitx. With lodash, moment and httpx
  // behind them, they would take 330 KB of the bundle.
  '@alicloud/tea-typescript': '@alicloud/openapi-util needs it only for Tea models, never to sign',
  '@alicloud/tea-util': '@alicloud/openapi-util needs it only for form and model helpers, never to sign',
};

export const STUB_WARNING_CODE = 'OSS_LAYER_PUBLISHER_STUB';

export function stubPlugin(stubbed = STUBBED) {
  const filter = new RegExp(
    `^(${Object.keys(stubbed)
      .map((name) => name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&'))
      .join('|')})$`,
  );
  return {
    name: 'publisher-stubs',
    setup(builder) {
      builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'publisher-stub' }));
      builder.onLoad({ filter: /.*/, namespace: 'publisher-stub' }, (args) => ({
        loader: 'js',
        contents: `
          const message = ${JSON.stringify(`${args.path} is stubbed out of the bundle by scripts/build.mjs (${stubbed[args.path]}), but was used`)};
          const fail = () => {
            process.emitWarning(message, { code: ${JSON.stringify(STUB_WARNING_CODE)} });
            throw new Error(message);
          };
          // __esModule is the CommonJS interop probe (tsc's __importDefault/__importStar), read at require time
          // by every compiled TypeScript package: answering it is not a use, anything further is.
          const get = (_target, key) => (key === '__esModule' ? true : fail());
          module.exports = new Proxy(function stub() {}, { get, apply: fail, construct: fail, has: fail, ownKeys: fail });
        `,
      }));
    },
  };
}

async function buildFunction(outdir) {
  await mkdir(outdir, { recursive: true });
  const result = await build({
    stdin: {
      // Loading dist/index.js defines the handler and nothing else: esbuild initialises a module reached by
      // require() or import() only when that call runs. The first invocation then sets up what its event
      // needs: parsing it (config, logger, the event schema); the publishing steps when a record is not
      // ignored (src/handler.ts); ali-oss and the FC adapters at their first request (src/oss/ali-oss-store.ts,
      // src/fc/layer-api.ts). bench:coldstart prints each part; test/bundle/cold-start.test.ts holds it.
      contents: `let loaded;
        exports.handler = (event, context) => (loaded ??= require('./src/index.ts')).handler(event, context);`,
      resolveDir: root,
      sourcefile: 'index.js',
      loader: 'js',
    },
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    // urllib requires proxy-agent only when a proxy is configured; it is not installed (docs/reference/testing.md §7).
    external: ['proxy-agent'],
    plugins: [stubPlugin()],
    logLevel: 'warning',
  });
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('index.js'));
  return output?.[1].bytes ?? 0;
}

/**
 * dist/function/index.js: the very bytes of dist/index.js (the file every test runs), in a folder of its
 * own, emptied first so nothing left by an older build is deployed with it.
 */
const DEPLOY_FOLDER = 'function';

async function writeDeployFolder(outdir) {
  const folder = join(outdir, DEPLOY_FOLDER);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder);
  await copyFile(join(outdir, 'index.js'), join(folder, 'index.js'));
  return folder;
}

/** dist/crc64.js: the CRC-64 engine alone (`Crc64`, `crc64Combine`), CommonJS, for other tools. */
async function buildCrc64(outdir) {
  const outfile = join(outdir, 'crc64.js');
  await build({
    entryPoints: [join(root, 'src/checksum/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flag = process.argv.indexOf('--outdir');
  const outdir = flag === -1 ? 'dist' : process.argv[flag + 1];
  const bytes = await buildFunction(outdir);
  console.error(`${join(outdir, 'index.js')}: ${(bytes / 1e6).toFixed(2)} MB`);
  console.error(`${await writeDeployFolder(outdir)}/: index.js alone, the folder s.yaml deploys`);
  console.error(`${await buildCrc64(outdir)}: the CRC-64 engine for other tools`);
}
