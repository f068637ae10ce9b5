// Bundles the function into dist/index.js: one CommonJS file that runs with no node_modules beside it,
// and copies it alone into dist/function/, the folder s.yaml deploys (dist/ also holds the CLI, the local
// stack, crc64.js and meta.json, none of which belongs in the function's code package).
// `--outdir <dir>` writes it elsewhere (tests build their own copy rather than race over dist/).
import { build } from 'esbuild';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

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

/** Matches exactly these module names, as written in an import. */
const exactly = (names) => new RegExp(`^(${names.map((name) => name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')).join('|')})$`);

export function stubPlugin(stubbed = STUBBED) {
  const filter = exactly(Object.keys(stubbed));
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

/**
 * The SDKs the function reaches only through its first request: src/oss/ali-oss-store.ts and src/fc/ import
 * them lazily. They are two thirds of the bundle, and Node 20 parses every byte of a file it requires, used or
 * not, so an event that needs no request would still pay for parsing them. They are bundled on their own and
 * carried inside dist/index.js as a Brotli-compressed string, which costs a fraction of parsing them as code;
 * the first request inflates and compiles them (bench:coldstart prints both, test/bundle/cold-start.test.ts
 * holds which invocation pays).
 */
export const DEFERRED_SDKS = ['ali-oss', '@alicloud/fc2/lib/client.js', '@alicloud/openapi-util'];

const SHARED_SETTINGS = {
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
  logLevel: 'warning',
};

/** The deferred SDKs as one CommonJS bundle whose exports load each of them on first call, and its metafile. */
async function buildDeferredSdks() {
  const result = await build({
    ...SHARED_SETTINGS,
    stdin: {
      contents: `module.exports = { ${DEFERRED_SDKS.map((name) => `${JSON.stringify(name)}: () => require(${JSON.stringify(name)})`).join(', ')} };`,
      resolveDir: root,
      sourcefile: 'deferred-sdks.js',
      loader: 'js',
    },
    write: false,
    outfile: 'deferred-sdks.js',
    plugins: [stubPlugin()],
  });
  return { code: result.outputFiles[0].contents, metafile: result.metafile };
}

/** Resolves each deferred SDK to its entry in the compressed bundle, inflated and compiled at the first of them. */
function deferredSdksPlugin(code) {
  const filter = exactly(DEFERRED_SDKS);
  const compressed = brotliCompressSync(code, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
  }).toString('base64');
  return {
    name: 'deferred-sdks',
    setup(builder) {
      builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'deferred-sdk' }));
      builder.onResolve({ filter: /^deferred-sdks$/, namespace: 'deferred-sdk' }, () => ({ path: 'deferred-sdks', namespace: 'deferred-sdks' }));
      builder.onLoad({ filter: /.*/, namespace: 'deferred-sdk' }, (args) => ({
        loader: 'js',
        contents: `module.exports = require('deferred-sdks')[${JSON.stringify(args.path)}]();`,
      }));
      builder.onLoad({ filter: /.*/, namespace: 'deferred-sdks' }, () => ({
        loader: 'js',
        contents: `
          const { brotliDecompressSync } = require('node:zlib');
          const { Script } = require('node:vm');
          const source = brotliDecompressSync(Buffer.from(${JSON.stringify(compressed)}, 'base64')).toString('utf8');
          const sdks = { exports: {} };
          // vm.Script, not vm.compileFunction: Node 20 compiles a large source about twice as fast this way.
          new Script('(function (exports, require, module, __filename, __dirname) {' + source + '\\n})', {
            filename: __filename + ' (deferred SDKs)',
          }).runInThisContext()(sdks.exports, require, sdks, __filename, __dirname);
          module.exports = sdks.exports;
        `,
      }));
    },
  };
}

async function buildFunction(outdir) {
  await mkdir(outdir, { recursive: true });
  const sdks = await buildDeferredSdks();
  const result = await build({
    ...SHARED_SETTINGS,
    stdin: {
      // Loading dist/index.js defines the handler and nothing else: esbuild initialises a module reached by
      // require() or import() only when that call runs. The first invocation then sets up what its event
      // needs: parsing it (config, logger, the event schema); the publishing steps when a record is not
      // ignored (src/handler.ts); the SDKs (DEFERRED_SDKS) and the FC adapters at their first request
      // (src/oss/ali-oss-store.ts, src/fc/layer-api.ts). bench:coldstart prints each part;
      // test/bundle/cold-start.test.ts holds it.
      contents: `let loaded;
        exports.handler = (event, context) => (loaded ??= require('./src/index.ts')).handler(event, context);`,
      resolveDir: root,
      sourcefile: 'index.js',
      loader: 'js',
    },
    outfile: join(outdir, 'index.js'),
    plugins: [deferredSdksPlugin(sdks.code), stubPlugin()],
  });
  const [path, output] = Object.entries(result.metafile.outputs).find(([name]) => name.endsWith('index.js'));
  // One metafile for both builds: the deferred SDKs' inputs with their bytes before compression.
  const meta = {
    inputs: { ...result.metafile.inputs, ...sdks.metafile.inputs },
    outputs: { [path]: output, [`${path} (deferred SDKs, before compression)`]: sdks.metafile.outputs['deferred-sdks.js'] },
  };
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(meta));
  return output.bytes;
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
