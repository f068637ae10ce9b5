import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle, runBuilt, type BuiltExit, type EventForm } from './run-built';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, createTestCloud, testContext, type TestCloud } from '../support/cloud';
import { serve, type LoopbackServer } from '../../src/emulator';
import { independentCrc64 } from '../support/independent';
import { IGNORED_EVENT_NAMES, NODE_MANIFEST, makeZip, manifestBytes, nodejsLayerZip } from '../support/layers';
import { expectNoSecrets } from '../publish/helpers';
import { recordWrittenObjects } from '../support/secret-scan';

/**
 * docs/contract.md read literally, against the built dist/index.js in a child process, as an outside
 * suite would run it: the event in each accepted form, contexts with parts missing, each API version.
 */
let bundle: { dir: string; remove: () => Promise<void> };
let cloud: TestCloud;
let servers: LoopbackServer[] = [];
/** The first word of each FC request's Authorization header (the scheme, never the signature), by path. */
let fcSchemes: { path: string; scheme: string }[] = [];
/** How the FC fake's answers are changed on their way out, to play an FC fake other than ours. */
let rewriteFcAnswer: ((answer: Response) => Promise<Response>) | undefined;
/** The same for OSS: the request on its way in, the answer on its way out. */
let rewriteOss: { request: (request: Request) => Request; answer: (answer: Response) => Promise<Response> } | undefined;

beforeAll(async () => {
  bundle = await buildBundle();
  const fresh = createTestCloud();
  servers = await Promise.all([
    serve((request) => {
      const rewrite = rewriteOss;
      if (rewrite === undefined) return fresh.oss.handle(request);
      return fresh.oss.handle(rewrite.request(request)).then(rewrite.answer);
    }),
    serve((request) => {
      fcSchemes.push({ path: new URL(request.url).pathname, scheme: (request.headers.get('authorization') ?? '').split(' ')[0] ?? '' });
      return fresh.fc.handle(request).then((answer) => rewriteFcAnswer?.(answer) ?? answer);
    }),
  ]);
  cloud = { ...fresh, ossEndpoint: servers[0]!.url, fcEndpoint: servers[1]!.url };
}, 60_000);

afterAll(async () => {
  if (cloud) await recordWrittenObjects(cloud);
  await Promise.all(servers.map((server) => server.close()));
  await bundle?.remove();
});

beforeEach(() => {
  cloud.oss.requests.clear();
  cloud.fc.requests.clear();
  fcSchemes = [];
  rewriteFcAnswer = undefined;
  rewriteOss = undefined;
});

const REQUEST_ID = 'contract-run';

function endpoints(): Record<string, string> {
  return { OSS_ENDPOINT: cloud.ossEndpoint, FC_ENDPOINT: cloud.fcEndpoint };
}

async function seedPair(stem: string, layerName: string, manifest: Record<string, unknown> = {}): Promise<Buffer> {
  const zip = nodejsLayerZip(stem);
  await cloud.oss.putObject(TEST_BUCKET, `${stem}.zip`, zip);
  await cloud.oss.putObject(TEST_BUCKET, `${stem}.layer.json`, manifestBytes({ ...NODE_MANIFEST, layerName, ...manifest }));
  return zip;
}

async function readResult(key: string): Promise<Record<string, unknown>> {
  const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
  expect(bytes, `no result at ${key}`).toBeDefined();
  return JSON.parse(Buffer.from(bytes!).toString('utf8')) as Record<string, unknown>;
}

/** §8: every line one JSON object with the invocation's requestId, and no secret anywhere. */
function expectCleanLogs(exit: BuiltExit): void {
  expect(exit.logLines.length).toBeGreaterThan(0);
  for (const line of exit.logLines) expect(line).toMatchObject({ requestId: REQUEST_ID });
  expectNoSecrets([exit.stdout, exit.stderr]);
}

describe('§1 the event, in each form the contract accepts', () => {
  it.each<EventForm>(['buffer', 'string', 'object'])('publishes from an event given as a %s', async (form) => {
    const zip = await seedPair(`layers/form-${form}`, `form-${form}`);
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `layers/form-${form}.zip`);

    const exit = await runBuilt(bundle.dir, { event: { events: [record] }, form, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toEqual([{ key: `layers/form-${form}.zip`, status: 'published', layerName: `form-${form}`, version: 1 }]);
    expect(cloud.fc.versions(`form-${form}`)[0]?.codeChecksum).toBe(independentCrc64(zip));
    expectCleanLogs(exit);
  });
});

describe('§2 fallbacks for what the context lacks', () => {
  it('signs with ALIBABA_CLOUD_* and uses FC_ACCOUNT_ID / FC_REGION when the context has none of them', async () => {
    await seedPair('layers/no-context', 'no-context');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/no-context.zip');

    const exit = await runBuilt(bundle.dir, {
      event: { events: [record] },
      context: { requestId: REQUEST_ID },
      env: {
        ...endpoints(),
        ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_CREDENTIALS.accessKeySecret,
        ALIBABA_CLOUD_SECURITY_TOKEN: TEST_CREDENTIALS.securityToken,
        FC_ACCOUNT_ID: TEST_ACCOUNT_ID,
        FC_REGION: TEST_REGION,
      },
    });

    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toEqual([{ key: 'layers/no-context.zip', status: 'published', layerName: 'no-context', version: 1 }]);
    expectCleanLogs(exit);
  });

  it('signs OSS V4 for the region of the event record, whatever region the context names', async () => {
    await seedPair('layers/record-region', 'record-region');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/record-region.zip');

    const exit = await runBuilt(bundle.dir, {
      event: { events: [record] },
      context: { ...testContext(REQUEST_ID), region: 'cn-shanghai' },
      env: endpoints(),
    });

    expect(exit.summary).toEqual([{ key: 'layers/record-region.zip', status: 'published', layerName: 'record-region', version: 1 }]);
    // The OSS fake refuses a V4 scope naming another region than the bucket's (EC 0002-00000226).
    expect(cloud.oss.requests.filter((request) => request.status === 400 || request.status === 403)).toEqual([]);
  });

  it("signs OSS V4 for the context's region when the record names none", async () => {
    await seedPair('layers/context-region', 'context-region');
    const { region: _omitted, ...record } = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/context-region.zip');

    const exit = await runOne(record);

    expect(exit.summary).toEqual([{ key: 'layers/context-region.zip', status: 'published', layerName: 'context-region', version: 1 }]);
  });

  it('fails fast naming MAX_ZIP_BYTES when it is not a number', async () => {
    await seedPair('layers/bad-config', 'bad-config');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/bad-config.zip');

    const exit = await runBuilt(bundle.dir, {
      event: { events: [record] },
      context: testContext(REQUEST_ID),
      env: { ...endpoints(), MAX_ZIP_BYTES: 'lots' },
    });

    expect(exit.rejected).toContain('MAX_ZIP_BYTES');
    expect(cloud.fc.versions('bad-config')).toEqual([]);
    expectNoSecrets([exit.stdout, exit.stderr]);
  });
});

describe('§3 keys and event names', () => {
  it('makes no request at all for event names that do not create a whole object, nor for other keys', async () => {
    await seedPair('layers/ignored', 'ignored');
    const zipRecord = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/ignored.zip');
    const records: unknown[] = IGNORED_EVENT_NAMES.map((eventName) => ({ ...zipRecord, eventName }));
    for (const key of ['layers/ignored.result.json', 'layers/readme.txt', '_audit/layers/ignored.json']) {
      records.push({ ...zipRecord, oss: { ...zipRecord.oss, object: { ...zipRecord.oss.object, key } } });
    }

    const exit = await runBuilt(bundle.dir, { event: { events: records }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toHaveLength(records.length);
    for (const entry of exit.summary as { status: string }[]) expect(entry.status).toBe('ignored');
    expect(cloud.oss.requests.entries).toEqual([]);
    expect(cloud.fc.requests.entries).toEqual([]);
  });

  it('uses a key with spaces, CJK and + verbatim, and compares ETags without quotes and case', async () => {
    const stem = 'layers/团队 a+b/my layer';
    await seedPair(stem, 'verbatim-key');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${stem}.zip`);
    const quoted = { ...record, oss: { ...record.oss, object: { ...record.oss.object, eTag: `"${record.oss.object.eTag.toLowerCase()}"` } } };

    const exit = await runBuilt(bundle.dir, { event: { events: [quoted] }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.summary).toEqual([{ key: `${stem}.zip`, status: 'published', layerName: 'verbatim-key', version: 1 }]);
    expect(await readResult(`${stem}.result.json`)).toMatchObject({ status: 'published', source: { key: `${stem}.zip` } });
  });
});

describe('§5 and §6 what one event does, and the result', () => {
  it('publishes a zip OSS has no CRC for, and writes the result fields with the contract types', async () => {
    const zip = nodejsLayerZip('no-crc');
    await cloud.oss.putObject(TEST_BUCKET, 'layers/no-crc.zip', zip, { withoutCrc: true });
    await cloud.oss.putObject(TEST_BUCKET, 'layers/no-crc.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'no-crc' }));
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/no-crc.layer.json');

    const exit = await runBuilt(bundle.dir, { event: { events: [record] }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.summary).toEqual([{ key: 'layers/no-crc.layer.json', status: 'published', layerName: 'no-crc', version: 1 }]);
    const result = await readResult('layers/no-crc.result.json');
    const crc = independentCrc64(zip);
    expect(result).toMatchObject({
      status: 'published',
      layerName: 'no-crc',
      version: 1,
      source: { bucket: TEST_BUCKET, key: 'layers/no-crc.zip', size: zip.length, crc64: crc },
      event: { name: 'ObjectCreated:PutObject', time: record.eventTime, requestId: record.responseElements.requestId },
    });
    expect(typeof result.arn).toBe('string');
    expect(result.layer).toMatchObject({ codeChecksum: crc });
    expect(typeof (result.source as { etag: unknown }).etag).toBe('string');
    for (const stamp of [result.startedAt, result.finishedAt]) expect(Number.isNaN(Date.parse(String(stamp)))).toBe(false);
  });

  it('answers unchanged for the same bytes, description and runtimes, with no new version', async () => {
    await seedPair('layers/same', 'same');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/same.zip');
    await runBuilt(bundle.dir, { event: { events: [record] }, context: testContext(REQUEST_ID), env: endpoints() });
    // The manifest uploaded again, laid out otherwise: a new upload (§7), the same code and fields.
    await cloud.oss.putObject(TEST_BUCKET, 'layers/same.layer.json', Buffer.from(JSON.stringify({ ...NODE_MANIFEST, layerName: 'same' })));
    const again = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/same.layer.json');

    const exit = await runBuilt(bundle.dir, { event: { events: [again] }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.summary).toEqual([{ key: 'layers/same.layer.json', status: 'unchanged', layerName: 'same', version: 1 }]);
    expect(cloud.fc.versions('same')).toHaveLength(1);
  });

  it('fails a near-miss runtime with a permanent error naming the field and suggesting the id', async () => {
    await seedPair('layers/near-miss', 'near-miss', { compatibleRuntime: ['nodjs20'] });
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/near-miss.zip');

    const exit = await runBuilt(bundle.dir, { event: { events: [record] }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toEqual([expect.objectContaining({ key: 'layers/near-miss.zip', status: 'failed' })]);
    const result = await readResult('layers/near-miss.result.json');
    expect(result.error).toMatchObject({ code: 'ManifestInvalid', retryable: false });
    const message = (result.error as { message: string }).message;
    expect(message).toContain('compatibleRuntime[0]');
    expect(message).toContain('nodejs20');
    expect(cloud.fc.requests.filter((request) => request.action === 'CreateLayerVersion')).toEqual([]);
  });

  it('fails a transient FC failure that outlasts the retries as retryable, and rejects', async () => {
    await seedPair('layers/down', 'down');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/down.zip');
    cloud.fc.faults.inject({ status: 503, code: 'ServiceUnavailable', times: Infinity });

    const exit = await runBuilt(bundle.dir, { event: { events: [record] }, context: testContext(REQUEST_ID), env: endpoints() });
    cloud.fc.faults.clear();

    expect(exit.rejected).toBeDefined();
    const result = await readResult('layers/down.result.json');
    expect(result).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
    expectNoSecrets([exit.stdout, exit.stderr]);
  }, 60_000);
});

describe('§2 and §5 step 6: each FC_API_VERSION, through the bundle', () => {
  it('publishes under 2016-08-15 with the legacy FC scheme, paths under /2016-08-15/', async () => {
    await seedPair('layers/v2016', 'v2016');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/v2016.zip');

    const exit = await runBuilt(bundle.dir, {
      event: { events: [record] },
      context: testContext(REQUEST_ID),
      env: { ...endpoints(), FC_API_VERSION: '2016-08-15' },
    });

    expect(exit.summary).toEqual([{ key: 'layers/v2016.zip', status: 'published', layerName: 'v2016', version: 1 }]);
    expect(fcSchemes.length).toBeGreaterThan(0);
    for (const { path, scheme } of fcSchemes) {
      expect(path.startsWith('/2016-08-15/layers/')).toBe(true);
      expect(scheme).toBe('FC');
    }
  });

  it('sends code.checksum and license under 2023-03-30, signed ACS3', async () => {
    const zip = await seedPair('layers/v2023', 'v2023', { license: 'MIT' });
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/v2023.zip');

    const exit = await runBuilt(bundle.dir, {
      event: { events: [record] },
      context: testContext(REQUEST_ID),
      env: { ...endpoints(), FC_API_VERSION: '2023-03-30' },
    });

    expect(exit.summary).toEqual([{ key: 'layers/v2023.zip', status: 'published', layerName: 'v2023', version: 1 }]);
    const creates = cloud.fc.requests.filter((request) => request.action === 'CreateLayerVersion');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.path).toBe('/2023-03-30/layers/v2023/versions');
    expect(fcSchemes.map(({ scheme }) => scheme)).toEqual(fcSchemes.map(() => 'ACS3-HMAC-SHA256'));
    expect(creates[0]!.body).toMatchObject({
      code: { ossBucketName: TEST_BUCKET, ossObjectName: 'layers/v2023.zip', checksum: independentCrc64(zip) },
      license: 'MIT',
      compatibleRuntime: NODE_MANIFEST.compatibleRuntime,
    });
    expect(await readResult('layers/v2023.result.json')).toMatchObject({ status: 'published' });
  });
});

async function runOne(record: unknown, env: Record<string, string> = {}): Promise<BuiltExit> {
  return runBuilt(bundle.dir, { event: { events: [record] }, context: testContext(REQUEST_ID), env: { ...endpoints(), ...env } });
}

async function expectFailed(resultKey: string, code: string, ...inMessage: string[]): Promise<void> {
  const result = await readResult(resultKey);
  expect(result).toMatchObject({ status: 'failed', error: { code, retryable: false } });
  for (const words of inMessage) expect((result.error as { message: string }).message).toContain(words);
}

describe('§4 the manifest, literally', () => {
  it('accepts a leading byte-order mark', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/bom.zip', nodejsLayerZip('bom'));
    const manifest = manifestBytes({ ...NODE_MANIFEST, layerName: 'bom' });
    await cloud.oss.putObject(TEST_BUCKET, 'layers/bom.layer.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), manifest]));

    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/bom.layer.json'));

    expect(exit.summary).toEqual([{ key: 'layers/bom.layer.json', status: 'published', layerName: 'bom', version: 1 }]);
  });

  it('refuses an unknown field, naming it', async () => {
    await seedPair('layers/typo', 'typo', { compatibleRuntimes: ['nodejs20'] });
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/typo.zip'));
    expect(exit.rejected).toBeUndefined();
    await expectFailed('layers/typo.result.json', 'ManifestInvalid', 'compatibleRuntimes');
  });

  it('refuses a manifest over 64 KiB as ManifestTooLarge', async () => {
    await seedPair('layers/huge-manifest', 'huge-manifest', { description: 'x'.repeat(100) });
    const padded = Buffer.from(JSON.stringify({ ...NODE_MANIFEST, layerName: 'huge-manifest' }) + ' '.repeat(64 * 1024));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/huge-manifest.layer.json', padded);
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/huge-manifest.layer.json'));
    expect(exit.rejected).toBeUndefined();
    await expectFailed('layers/huge-manifest.result.json', 'ManifestTooLarge');
  });

  it('lets a runtime beyond the list (python3.12 under FC 3.0) through to FC, and quotes FC if it refuses', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/py312.zip', makeZip({ 'python/pkg/__init__.py': 'x = 1\n' }));
    await cloud.oss.putObject(
      TEST_BUCKET,
      'layers/py312.layer.json',
      manifestBytes({ layerName: 'py312', compatibleRuntime: ['python3.12'], license: 'Apache-2.0' }),
    );
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/py312.zip'), { FC_API_VERSION: '2023-03-30' });

    expect(exit.rejected).toBeUndefined();
    const creates = cloud.fc.requests.filter((request) => request.action === 'CreateLayerVersion');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.body).toMatchObject({ compatibleRuntime: ['python3.12'], license: 'Apache-2.0' });
    // Which runtimes FC takes is FC's to judge (§4): our fake knows only the §4 list, and refuses this
    // one as FC does (`runtime: … is not supported by layer`); the result quotes it, permanently.
    const result = await readResult('layers/py312.result.json');
    if (creates[0]!.status === 200) expect(result).toMatchObject({ status: 'published', version: 1 });
    else await expectFailed('layers/py312.result.json', 'FcRejected', creates[0]!.code!, 'python3.12');
  });

  it('says where the files go when node_modules/ is at the top', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/flat.zip', makeZip({ 'node_modules/left-pad/index.js': 'module.exports = 1;' }));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/flat.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'flat' }));
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/flat.zip'));
    expect(exit.rejected).toBeUndefined();
    await expectFailed('layers/flat.result.json', 'ZipLayoutInvalid', 'nodejs/node_modules');
    expect(cloud.fc.requests.filter((request) => request.action === 'CreateLayerVersion')).toEqual([]);
  });
});

describe('§2, §3 and §5: pairs, stale events, limits', () => {
  it('writes waiting when the manifest has not arrived, and resolves', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/alone.zip', nodejsLayerZip('alone'));
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/alone.zip'));
    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toEqual([expect.objectContaining({ key: 'layers/alone.zip', status: 'waiting' })]);
    expect(await readResult('layers/alone.result.json')).toMatchObject({ status: 'waiting' });
    expect(cloud.fc.requests.entries).toEqual([]);
  });

  it('treats a zip event whose ETag is no longer the object as stale: no result, no version', async () => {
    await seedPair('layers/replaced', 'replaced');
    const old = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/replaced.zip');
    await cloud.oss.putObject(TEST_BUCKET, 'layers/replaced.zip', nodejsLayerZip('replaced-newer'));

    const exit = await runOne(old);

    expect(exit.rejected).toBeUndefined();
    expect(exit.summary).toEqual([expect.objectContaining({ key: 'layers/replaced.zip', status: 'stale' })]);
    expect(await cloud.oss.readObject(TEST_BUCKET, 'layers/replaced.result.json')).toBeUndefined();
    expect(cloud.fc.versions('replaced')).toEqual([]);
  });

  it('refuses a zip over MAX_ZIP_BYTES before reading a byte of it', async () => {
    const zip = await seedPair('layers/over', 'over');
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/over.zip'), { MAX_ZIP_BYTES: String(zip.length - 1) });
    expect(exit.rejected).toBeUndefined();
    await expectFailed('layers/over.result.json', 'ZipTooLarge', String(zip.length - 1));
    expect(cloud.oss.requests.filter((request) => request.method === 'GET' && request.key === 'layers/over.zip')).toEqual([]);
  });

  it('applies ALLOWED_LAYERS by key prefix, the first = splitting prefix and glob', async () => {
    await seedPair('layers/team-a/ok', 'team-a-ok');
    await seedPair('layers/team-b/sneaky', 'team-a-sneaky');
    const records = [
      await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/team-a/ok.zip'),
      await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/team-b/sneaky.zip'),
    ];
    const exit = await runBuilt(bundle.dir, {
      event: { events: records },
      context: testContext(REQUEST_ID),
      env: { ...endpoints(), ALLOWED_LAYERS: 'layers/team-a/=team-a-*, layers/team-b/=team-b-?*' },
    });
    expect(exit.summary).toEqual([
      { key: 'layers/team-a/ok.zip', status: 'published', layerName: 'team-a-ok', version: 1 },
      expect.objectContaining({ key: 'layers/team-b/sneaky.zip', status: 'failed' }),
    ]);
    await expectFailed('layers/team-b/sneaky.result.json', 'LayerNotAllowed', 'team-a-sneaky');
  });

  it('writes nothing that matches the triggers: only results, records under AUDIT_PREFIX and the index under INDEX_PREFIX', async () => {
    const before = new Set(await cloud.oss.listKeys(TEST_BUCKET));
    await seedPair('layers/quiet', 'quiet');
    const seeded = new Set([...before, 'layers/quiet.zip', 'layers/quiet.layer.json']);
    await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/quiet.zip'), { AUDIT_PREFIX: 'audit-trail/', INDEX_PREFIX: 'public/index/' });
    const written = (await cloud.oss.listKeys(TEST_BUCKET)).filter((key) => !seeded.has(key));
    expect(written).toContain('layers/quiet.result.json');
    expect(written).toContain('public/index/layers/quiet.json');
    for (const key of written) expect(key.endsWith('.result.json') || key.startsWith('audit-trail/') || key.startsWith('public/index/')).toBe(true);
  });
});

describe('§7 nothing dropped, and the timeout bounds the invocation', () => {
  it('rejects when the result itself cannot be written', async () => {
    await seedPair('layers/unwritable', 'unwritable');
    cloud.oss.faults.inject({
      match: (target) => target.operation === 'PutObject' && target.key === 'layers/unwritable.result.json',
      status: 403,
      code: 'AccessDenied',
      times: Infinity,
    });
    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/unwritable.zip'));
    cloud.oss.faults.clear();

    expect(exit.rejected).toBeDefined();
    expect(exit.summary).toBeUndefined();
    expectNoSecrets([exit.stdout, exit.stderr]);
  }, 60_000);

  it('ends within the timeout the context gives (as a string), leaving unstarted records to the redelivery', async () => {
    const stems = Array.from({ length: 5 }, (_, i) => `layers/budget-${i}`);
    const records = [];
    for (const [i, stem] of stems.entries()) {
      await seedPair(stem, `budget-${i}`);
      records.push(await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${stem}.zip`));
    }
    cloud.oss.faults.inject({ delayMs: 150, times: Infinity });
    cloud.fc.faults.inject({ delayMs: 150, times: Infinity });
    const context = { ...testContext(REQUEST_ID), function: { timeout: '4' } };
    const started = Date.now();

    const first = await runBuilt(bundle.dir, { event: { events: records }, context, env: endpoints() });

    // The process's own start and load come on top of the 4 s; the margin is for a busy machine.
    expect(Date.now() - started).toBeLessThan(5_500);
    expect(first.rejected).toBeDefined();
    cloud.oss.faults.clear();
    cloud.fc.faults.clear();
    const second = await runBuilt(bundle.dir, { event: { events: records }, context: testContext(REQUEST_ID), env: endpoints() });

    expect(second.rejected).toBeUndefined();
    expect((second.summary as { status: string }[]).map((entry) => entry.status)).toEqual(Array(5).fill('published'));
    for (const i of stems.keys()) expect(cloud.fc.versions(`budget-${i}`)).toHaveLength(1);
  }, 60_000);
});

describe('§7 exactly once, across processes', () => {
  it("makes one version when the zip's and the manifest's events arrive at once, twice each, in four processes", async () => {
    const zip = await seedPair('layers/once', 'once');
    const zipEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/once.zip');
    const manifestEvent = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/once.layer.json');

    const runs = await Promise.all([zipEvent, manifestEvent, zipEvent, manifestEvent].map((record) => runOne(record)));
    // A delivery that found another one working may reject (FC delivers it again) or report the
    // other's outcome; none may make a second version.
    if (runs.some((run) => run.rejected !== undefined)) expect((await runOne(zipEvent)).rejected).toBeUndefined();
    for (const run of runs) expectCleanLogs(run);

    expect(cloud.fc.versions('once')).toHaveLength(1);
    expect(cloud.fc.versions('once')[0]?.codeChecksum).toBe(independentCrc64(zip));
    expect(await readResult('layers/once.result.json')).toMatchObject({ status: 'published', version: 1 });
  }, 60_000);
});

describe('FC answers as another fake might give them', () => {
  it('reads codeChecksum given as a JSON number, digit for digit, from an answer with no content type', async () => {
    const zip = await seedPair('layers/numeric', 'numeric');
    rewriteFcAnswer = async (answer) => {
      const text = (await answer.text()).replace(/"codeChecksum":"(\d+)"/g, '"codeChecksum":$1');
      return new Response(text, { status: answer.status });
    };

    const exit = await runOne(await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/numeric.zip'));

    expect(exit.summary).toEqual([{ key: 'layers/numeric.zip', status: 'published', layerName: 'numeric', version: 1 }]);
    expect(cloud.fc.versions('numeric')).toHaveLength(1);
    expect(cloud.fc.requests.filter((request) => request.action === 'DeleteLayerVersion')).toEqual([]);
    expect(await readResult('layers/numeric.result.json')).toMatchObject({ source: { crc64: independentCrc64(zip) } });
  });
});

describe('OSS answers as another fake might give them', () => {
  it('takes lower-case ETags from OSS and the event alike, and sends them back as given', async () => {
    await seedPair('layers/lower-etag', 'lower-etag');
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/lower-etag.zip');
    const lower = { ...record, oss: { ...record.oss, object: { ...record.oss.object, eTag: record.oss.object.eTag.toLowerCase() } } };
    const sentBack: string[] = [];
    rewriteOss = {
      // A fake whose ETags are lower-case compares conditions against them; ours upper-cases them back.
      request: (request) => {
        const headers = new Headers(request.headers);
        for (const name of ['if-match', 'if-none-match']) {
          const value = headers.get(name);
          if (value === null) continue;
          sentBack.push(value);
          headers.set(name, value.toUpperCase());
        }
        return new Request(request, { headers });
      },
      answer: async (answer) => {
        const headers = new Headers(answer.headers);
        const etag = headers.get('etag');
        if (etag !== null) headers.set('etag', etag.toLowerCase());
        const xml = (headers.get('content-type') ?? '').includes('xml');
        const body =
          !xml || answer.body === null
            ? answer.body
            : (await answer.text()).replace(/<ETag>([^<]*)<\/ETag>/g, (_, tag: string) => `<ETag>${tag.toLowerCase()}</ETag>`);
        return new Response(body, { status: answer.status, headers });
      },
    };

    const exit = await runOne(lower);

    expect(exit.summary).toEqual([{ key: 'layers/lower-etag.zip', status: 'published', layerName: 'lower-etag', version: 1 }]);
    expect(sentBack.filter((value) => value !== '*' && value !== '"*"').every((value) => value === value.toLowerCase())).toBe(true);
    expect(sentBack.length).toBeGreaterThan(0);
  });
});
