import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { TEST_BUCKET, useMswCloud, type TestCloud } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { IGNORED_EVENT_NAMES, NODE_MANIFEST, makeZip, manifestBytes, nodejsLayerZip } from '../support/layers';
import { expectNoSecrets, invoke, readResult, writtenObjects } from './helpers';

const env = useMswCloud();

const ZIP_KEY = 'layers/left-pad.zip';
const MANIFEST_KEY = 'layers/left-pad.layer.json';
const RESULT_KEY = 'layers/left-pad.result.json';

async function seedPair(cloud: TestCloud, options: { zip?: Buffer; manifest?: unknown; base?: string } = {}) {
  const base = options.base ?? 'layers/left-pad';
  const zip = options.zip ?? nodejsLayerZip();
  await cloud.oss.putObject(TEST_BUCKET, `${base}.zip`, zip);
  await cloud.oss.putObject(TEST_BUCKET, `${base}.layer.json`, manifestBytes(options.manifest ?? NODE_MANIFEST));
  return {
    zip,
    zipEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${base}.zip`),
    manifestEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${base}.layer.json`),
  };
}

function creates(cloud: TestCloud) {
  return cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
}

describe('publishing a zip and its manifest (docs/contract.md §5)', () => {
  it('publishes a new version from the zip event and writes the result beside the zip', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);

    const run = await invoke([zipEvent]);

    expect(run.error).toBeUndefined();
    expect(run.summary).toEqual([{ key: ZIP_KEY, status: 'published', layerName: 'left-pad', version: 1 }]);
    const result = await readResult(cloud, RESULT_KEY);
    const crc64 = independentCrc64(zip);
    expect(result).toMatchObject({
      status: 'published',
      layerName: 'left-pad',
      version: 1,
      source: { bucket: TEST_BUCKET, key: ZIP_KEY, etag: zipEvent.oss.object.eTag, size: zip.length, crc64 },
      event: { name: 'ObjectCreated:PutObject', time: zipEvent.eventTime, requestId: zipEvent.responseElements.requestId },
    });
    expect(result?.arn).toBe(cloud.fc.versions('left-pad')[0]?.arn);
    expect(result?.layer).toMatchObject({ layerName: 'left-pad', version: 1, codeChecksum: crc64 });
    expect(result?.error).toBeUndefined();
    expect(Date.parse(result!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result!.startedAt));
  });

  it('sends FC exactly the CreateLayerVersion request of the contract', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);

    await invoke([zipEvent]);

    const [create] = creates(cloud);
    expect(create).toMatchObject({ method: 'POST', path: '/2021-04-06/layers/left-pad/versions', status: 200 });
    expect(create?.body).toEqual({
      Code: { ossBucketName: TEST_BUCKET, ossObjectName: ZIP_KEY },
      description: NODE_MANIFEST.description,
      compatibleRuntime: NODE_MANIFEST.compatibleRuntime,
    });
    expect(create?.headers).toMatchObject({ 'x-acs-version': '2021-04-06', 'x-acs-action': 'CreateLayerVersion' });
  });

  it('publishes from the manifest event when the zip is already there', async () => {
    const { cloud } = env;
    const { manifestEvent } = await seedPair(cloud);

    const run = await invoke([manifestEvent]);

    expect(run.summary).toEqual([{ key: MANIFEST_KEY, status: 'published', layerName: 'left-pad', version: 1 }]);
    expect((await readResult(cloud, RESULT_KEY))?.source.key).toBe(ZIP_KEY);
  });

  it('writes waiting when the manifest has not arrived, and publishes when it does', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());

    const first = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);
    expect(first.summary?.[0]?.status).toBe('waiting');
    expect((await readResult(cloud, RESULT_KEY))?.status).toBe('waiting');
    expect(creates(cloud)).toHaveLength(0);

    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
    const second = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)]);
    expect(second.summary?.[0]?.status).toBe('published');
    expect((await readResult(cloud, RESULT_KEY))?.status).toBe('published');
  });

  it('writes waiting when the zip has not arrived', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));

    const run = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)]);

    expect(run.summary?.[0]?.status).toBe('waiting');
    expect(await readResult(cloud, RESULT_KEY)).toMatchObject({ status: 'waiting', layerName: 'left-pad' });
  });

  it('a lone manifest waits naming the zip, since when, and a near miss beside it with the fix', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/left-pad-1.2.zip', nodejsLayerZip());
    // A complete pair of its own is another layer, never a near miss.
    await seedPair(cloud, { base: 'layers/left-pan' });
    const manifestSince = (await cloud.oss.statObject(TEST_BUCKET, MANIFEST_KEY))!.lastModified.toISOString();
    const lists = () => cloud.oss.requests.entries.filter((request) => request.operation === 'ListObjects').length;
    const listsBefore = lists();

    await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)]);

    expect((await readResult(cloud, RESULT_KEY))?.waiting).toEqual({
      missing: ZIP_KEY,
      since: manifestSince,
      nearMiss: { key: 'layers/left-pad-1.2.zip', fix: `rename layers/left-pad-1.2.zip to ${ZIP_KEY}` },
    });
    expect(lists() - listsBefore).toBe(1);
  });

  it('a lone zip waits naming the manifest, and x.json beside it is the near miss', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    await cloud.oss.putObject(TEST_BUCKET, 'layers/left-pad.json', manifestBytes(NODE_MANIFEST));

    await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect((await readResult(cloud, RESULT_KEY))?.waiting).toMatchObject({
      missing: MANIFEST_KEY,
      nearMiss: { key: 'layers/left-pad.json', fix: `rename layers/left-pad.json to ${MANIFEST_KEY}` },
    });
  });

  it('publishes a zip OSS has no CRC for (a copied or legacy object)', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zip, { withoutCrc: true });
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));

    const run = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect(run.summary?.[0]?.status).toBe('published');
    expect((await readResult(cloud, RESULT_KEY))?.source.crc64).toBe(independentCrc64(zip));
  });

  it('uses keys verbatim: unicode, spaces and + are never decoded', async () => {
    const { cloud } = env;
    const base = 'layers/团队 shared+v1/util layer';
    const { zipEvent } = await seedPair(cloud, { base });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ key: `${base}.zip`, status: 'published' });
    expect(await readResult(cloud, `${base}.result.json`)).toMatchObject({ source: { key: `${base}.zip` } });
    expect(creates(cloud)[0]?.body).toMatchObject({ Code: { ossObjectName: `${base}.zip` } });
  });
});

describe('what makes no new version', () => {
  it('is unchanged when the latest version holds the same code, description and runtimes', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    const seeded = cloud.fc.seedVersion('left-pad', {
      code: zip,
      description: NODE_MANIFEST.description,
      compatibleRuntime: [...NODE_MANIFEST.compatibleRuntime].reverse(),
    });
    const { zipEvent } = await seedPair(cloud, { zip });

    const run = await invoke([zipEvent]);

    expect(run.summary).toEqual([{ key: ZIP_KEY, status: 'unchanged', layerName: 'left-pad', version: seeded.version }]);
    expect(creates(cloud)).toHaveLength(0);
    expect(await readResult(cloud, RESULT_KEY)).toMatchObject({ status: 'unchanged', version: seeded.version });
  });

  it('publishes when only the description changed', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    cloud.fc.seedVersion('left-pad', { code: zip, description: 'old words', compatibleRuntime: NODE_MANIFEST.compatibleRuntime });
    const { zipEvent } = await seedPair(cloud, { zip });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 2 });
  });

  it('publishes when an older version, not the latest, holds the code', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip('a');
    cloud.fc.seedVersion('left-pad', { code: zip, ...NODE_MANIFEST });
    cloud.fc.seedVersion('left-pad', { code: nodejsLayerZip('b'), ...NODE_MANIFEST });
    const { zipEvent } = await seedPair(cloud, { zip });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 3 });
  });

  it('treats an event whose ETag the zip no longer has as stale: no result, no publish', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip('newer'));

    const run = await invoke([zipEvent]);

    expect(run.summary).toEqual([{ key: ZIP_KEY, status: 'stale' }]);
    expect(await readResult(cloud, RESULT_KEY)).toBeUndefined();
    expect(creates(cloud)).toHaveLength(0);
  });

  it('compares ETags without quotes and case', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    zipEvent.oss.object.eTag = `"${zipEvent.oss.object.eTag.toLowerCase()}"`;

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.status).toBe('published');
  });
});

describe('ignored records make no request at all (docs/contract.md §3)', () => {
  it.each(IGNORED_EVENT_NAMES)('%s', async (eventName) => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const before = cloud.oss.requests.entries.length;

    const run = await invoke([{ ...zipEvent, eventName }]);

    expect(run.summary).toEqual([expect.objectContaining({ key: ZIP_KEY, status: 'ignored' })]);
    expect(cloud.oss.requests.entries).toHaveLength(before);
    expect(cloud.fc.requests.entries).toHaveLength(0);
  });

  it.each(['layers/left-pad.result.json', 'layers/readme.txt', '_audit/x/y.zip', 'layers/LEFT.ZIP'])('key %s', async (key) => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const event = structuredClone(zipEvent);
    event.oss.object.key = key;

    const run = await invoke([event]);

    expect(run.summary).toEqual([expect.objectContaining({ key, status: 'ignored' })]);
    expect(cloud.oss.requests.entries).toHaveLength(0);
    expect(cloud.fc.requests.entries).toHaveLength(0);
  });
});

describe('bad input is failed, permanently, with the field named', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['missing layerName', { compatibleRuntime: ['nodejs20'] }, /layerName/],
    ['layerName starting with a digit', { ...NODE_MANIFEST, layerName: '9lives' }, /layerName/],
    ['layerName with a dot', { ...NODE_MANIFEST, layerName: 'left.pad' }, /layerName/],
    ['layerName of 129 characters', { ...NODE_MANIFEST, layerName: 'a'.repeat(129) }, /layerName/],
    ['description of 257 characters', { ...NODE_MANIFEST, description: 'd'.repeat(257) }, /description/],
    ['no runtimes', { ...NODE_MANIFEST, compatibleRuntime: [] }, /compatibleRuntime/],
    ['unknown runtime', { ...NODE_MANIFEST, compatibleRuntime: ['nodejs20', 'nodjs20'] }, /compatibleRuntime\[1\]/],
    ['duplicate runtime', { ...NODE_MANIFEST, compatibleRuntime: ['nodejs20', 'nodejs20'] }, /compatibleRuntime/],
    ['misspelt field', { ...NODE_MANIFEST, compatibleRuntimes: ['nodejs20'] }, /compatibleRuntimes/],
    ['runtimes as a string', { ...NODE_MANIFEST, compatibleRuntime: 'nodejs20' }, /compatibleRuntime/],
  ];
  it.each(cases)('manifest: %s', async (_name, manifest, field) => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud, { manifest });

    const run = await invoke([zipEvent]);

    expect(run.error).toBeUndefined();
    expect(run.summary?.[0]).toMatchObject({ status: 'failed', error: { code: 'ManifestInvalid', retryable: false } });
    const result = await readResult(cloud, RESULT_KEY);
    expect(result?.error?.code).toBe('ManifestInvalid');
    expect(result?.error?.message).toMatch(field);
    expect(cloud.fc.requests.entries).toHaveLength(0);
  });

  it('manifest that is not JSON', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.from('{"layerName": '));

    const run = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ManifestInvalid', message: expect.stringMatching(/not valid JSON/) });
  });

  it('manifest with a byte-order mark is fine', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), manifestBytes(NODE_MANIFEST)]));

    const run = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect(run.summary?.[0]?.status).toBe('published');
  });

  it('manifest over 64 KiB is ManifestTooLarge', async () => {
    const { cloud } = env;
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());
    const padded = Buffer.from(JSON.stringify(NODE_MANIFEST) + ' '.repeat(64 * 1024));
    await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, padded);

    const run = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ManifestTooLarge', message: expect.stringMatching(/65536/) });
  });

  it('a zip that is not a zip is ZipInvalid', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud, { zip: Buffer.from('{"this is": "json, not a zip"}') });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ZipInvalid', retryable: false });
    expect(run.summary?.[0]?.error?.message).toContain(ZIP_KEY);
    expect(creates(cloud)).toHaveLength(0);
  });

  it('an empty zip object is ZipInvalid and is not read', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud, { zip: Buffer.alloc(0) });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ZipInvalid', message: expect.stringMatching(/empty/) });
  });

  it('a truncated zip is ZipInvalid', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    const { zipEvent } = await seedPair(cloud, { zip: zip.subarray(0, zip.length - 30) });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error?.code).toBe('ZipInvalid');
  });

  it('node_modules at the top of a nodejs layer is ZipLayoutInvalid, saying where it should go', async () => {
    const { cloud } = env;
    const zip = makeZip({ 'node_modules/left-pad/index.js': 'module.exports = 1' });
    const { zipEvent } = await seedPair(cloud, { zip });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ZipLayoutInvalid', message: expect.stringContaining('nodejs/node_modules') });
    expect(creates(cloud)).toHaveLength(0);
  });

  it('a zip over MAX_ZIP_BYTES is refused before any byte is read', async () => {
    const { cloud } = env;
    const { zip, zipEvent } = await seedPair(cloud);

    const run = await invoke([zipEvent], { env: { MAX_ZIP_BYTES: String(zip.length - 1) } });

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ZipTooLarge', message: expect.stringContaining('MAX_ZIP_BYTES') });
    const zipGets = cloud.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === ZIP_KEY);
    expect(zipGets).toHaveLength(0);
  });

  it('bytes that differ from the CRC OSS reports are ChecksumMismatch', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    env.server.use(
      http.get(/left-pad\.zip/, async ({ request }) => {
        const response = await cloud.oss.handle(request);
        const headers = new Headers(response.headers);
        headers.set('x-oss-hash-crc64ecma', '12345');
        return new Response(response.body, { status: response.status, headers });
      }),
    );

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'ChecksumMismatch', retryable: false, message: expect.stringContaining('12345') });
    expect(creates(cloud)).toHaveLength(0);
  });

  it('a layer name ALLOWED_LAYERS does not allow here is LayerNotAllowed', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);

    const run = await invoke([zipEvent], { env: { ALLOWED_LAYERS: 'layers/team-a/=left-*,team-b-*' } });

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'LayerNotAllowed', message: expect.stringContaining('left-pad') });
    expect(cloud.fc.requests.entries).toHaveLength(0);
  });

  it('ALLOWED_LAYERS lets a matching name through', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);

    const run = await invoke([zipEvent], { env: { ALLOWED_LAYERS: 'other-*,layers/=left-p?d' } });

    expect(run.summary?.[0]?.status).toBe('published');
  });

  it('a malformed record is reported and does not sink the others', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const broken = structuredClone(zipEvent) as unknown as { oss: { object: Record<string, unknown> } };
    delete broken.oss.object.eTag;
    broken.oss.object.key = 'layers/other.zip';

    const run = await invoke([broken, zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ key: 'layers/other.zip', status: 'failed', error: { code: 'EventInvalid' } });
    expect(run.summary?.[0]?.error?.message).toContain('eTag');
    expect(run.summary?.[1]).toMatchObject({ key: ZIP_KEY, status: 'published' });
  });

  it('an event that is not JSON rejects with a clear message', async () => {
    const { handleOssEvent } = await import('../../src/handler');
    await expect(handleOssEvent(Buffer.from('not json'), {}, { env: {}, write: () => undefined })).rejects.toThrow(/not valid JSON/);
  });
});

describe('Function Compute failures', () => {
  it('a 4xx from FC is FcRejected, quoting FC, and resolves', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({
      match: (t) => t.action === 'CreateLayerVersion',
      status: 400,
      code: 'InvalidArgument',
      message: 'runtime: custom is not supported by layer',
    });

    const run = await invoke([zipEvent]);

    expect(run.error).toBeUndefined();
    const result = await readResult(cloud, RESULT_KEY);
    expect(result?.status).toBe('failed');
    expect(result?.error).toMatchObject({ code: 'FcRejected', retryable: false });
    expect(result?.error?.message).toMatch(/InvalidArgument/);
    expect(result?.error?.message).toMatch(/custom is not supported/);
  });

  it('a 500 once is retried inside the invocation', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 500, code: 'InternalServerError' });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
  });

  it('a 503 that outlasts the retries is failed, retryable, and the handler rejects', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, code: 'ServiceUnavailable', times: Infinity });

    const run = await invoke([zipEvent]);

    expect(run.error?.message).toMatch(/delivered again/);
    expect(await readResult(cloud, RESULT_KEY)).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
    expect(cloud.fc.versions('left-pad')).toHaveLength(0);
  });

  it('a create whose answer was lost is adopted, not repeated', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, afterHandling: true });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
  });

  it('a codeChecksum other than the CRC deletes the version just made', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.reportWrongChecksumOnNextCreate();

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'CodeChecksumMismatch', retryable: false });
    const deletes = cloud.fc.requests.entries.filter((request) => request.action === 'DeleteLayerVersion');
    expect(deletes).toMatchObject([{ path: '/2021-04-06/layers/left-pad/versions/1', status: 204 }]);
    expect(cloud.fc.versions('left-pad')).toHaveLength(0);
  });

  it('a ListLayerVersions error is not mistaken for "no versions"', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    cloud.fc.seedVersion('left-pad', { code: zip, ...NODE_MANIFEST });
    const { zipEvent } = await seedPair(cloud, { zip });
    cloud.fc.faults.inject({ match: (t) => t.action === 'ListLayerVersions', status: 403, code: 'AccessDenied' });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]?.error).toMatchObject({ code: 'FcRejected' });
    expect(creates(cloud)).toHaveLength(0);
  });
});

describe('exactly once under duplicate and concurrent deliveries (docs/contract.md §7)', () => {
  it('the same event twice makes one version, and both say published', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);

    const first = await invoke([zipEvent]);
    const second = await invoke([zipEvent]);

    expect(first.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(second.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
  });

  it('the zip and the manifest event in one batch make one version', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);

    const run = await invoke([zipEvent, manifestEvent]);

    expect(run.summary?.map((entry) => entry.status)).toEqual(['published', 'published']);
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
  });

  it('concurrent deliveries make one version', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);

    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => invoke([i % 2 ? manifestEvent : zipEvent], { requestId: `concurrent-${i}` })));

    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
    for (const run of runs) {
      expect(run.error).toBeUndefined();
      expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    }
  });

  it('the same bytes uploaded again later are a new upload: unchanged, not republished', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    await invoke([zipEvent]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip());

    const again = await invoke([await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY)]);

    expect(again.summary?.[0]).toMatchObject({ status: 'unchanged', version: 1 });
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
  });
});

describe('logs and written objects (docs/contract.md §8)', () => {
  it('every log line is JSON with the request id, and no secret is logged or written', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 500 });

    const run = await invoke([zipEvent], { requestId: 'log-check' });

    expect(run.lines.length).toBeGreaterThan(3);
    for (const line of run.lines) {
      expect(line).toMatchObject({ requestId: 'log-check', step: expect.any(String) });
    }
    expect(run.lines.some((line) => line.key === ZIP_KEY)).toBe(true);
    expectNoSecrets(run.rawLines);
    expectNoSecrets((await writtenObjects(cloud)).values());
  });

  it('writes an audit record under _audit/ for each result', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);

    await invoke([zipEvent]);

    const records = await cloud.oss.listKeys(TEST_BUCKET, '_audit/records/');
    expect(records).toHaveLength(1);
    const record = JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, records[0]!))!).toString('utf8'));
    expect(record).toMatchObject({ kind: 'result', status: 'published', layerName: 'left-pad', version: 1 });
  });

  it('writes nothing a trigger would match', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    const before = new Set(await cloud.oss.listKeys(TEST_BUCKET));

    await invoke([zipEvent]);

    const added = (await cloud.oss.listKeys(TEST_BUCKET)).filter((key) => !before.has(key));
    expect(added.length).toBeGreaterThan(0);
    for (const key of added) {
      expect(key.endsWith('.result.json') || key.startsWith('_audit/') || key.startsWith('_index/')).toBe(true);
      expect(key.endsWith('.zip') || key.endsWith('.layer.json')).toBe(false);
    }
  });
});

describe('races between deliveries and uploads (docs/contract.md §6, §7)', () => {
  it('a manifest that lands while the zip event writes waiting still gets published by it', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    // The first look at the manifest misses it, as if it landed a moment later.
    cloud.oss.faults.inject({ match: (t) => t.method === 'GET' && t.key === MANIFEST_KEY, status: 404, code: 'NoSuchKey' });

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect((await readResult(cloud, RESULT_KEY))?.status).toBe('published');
  });

  it('a delivery that finds another one creating adopts its version: one version, both published', async () => {
    const { cloud } = env;
    const { zipEvent, manifestEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', delayMs: 1500 });

    const first = invoke([zipEvent], { requestId: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = invoke([manifestEvent], { requestId: 'second' });
    const runs = await Promise.all([first, second]);

    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
    expect(runs.map((run) => run.summary?.[0]?.status)).toEqual(['published', 'published']);
    expect(runs.map((run) => run.summary?.[0]?.version)).toEqual([1, 1]);
  });

  it('does not write its result over a newer upload that replaced the zip meanwhile', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    // The new upload lands after CreateLayerVersion, just as the outcome is recorded.
    env.server.use(
      http.put(/outcome\.json/, async ({ request }) => {
        await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip('newer'));
        return cloud.oss.handle(request);
      }),
    );

    const run = await invoke([zipEvent]);

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(await readResult(cloud, RESULT_KEY)).toBeUndefined();
    const audit = await cloud.oss.listKeys(TEST_BUCKET, '_audit/records/');
    const kinds = await Promise.all(audit.map(async (key) => JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString()).kind));
    expect(kinds).toEqual(['superseded']);
  });
});

describe('time', () => {
  it('a zip body that stalls is given up in time to write a retryable result, and the handler rejects', async () => {
    const { cloud } = env;
    // Incompressible, so the zip is 32 pieces of 64 KiB, each held back 2 s.
    const { zipEvent } = await seedPair(cloud, { zip: makeZip({ 'nodejs/node_modules/x/big.bin': patternBytes(2 * 1024 * 1024, 5) }) });
    cloud.oss.faults.inject({ match: (t) => t.method === 'GET' && t.key === ZIP_KEY, pieceDelayMs: 2_000, times: Infinity });

    // 10 s of function timeout: 1 s of safety margin and 1.8 s kept for the result leave 7.2 s to read.
    const run = await invoke([zipEvent], { timeoutSeconds: 10 });

    expect(run.error?.message).toMatch(/delivered again/);
    expect(await readResult(cloud, RESULT_KEY)).toMatchObject({
      status: 'failed',
      error: { code: 'Unavailable', retryable: true, message: expect.stringMatching(/time this invocation has left/) },
    });
    expect(creates(cloud)).toHaveLength(0);
  }, 20_000);
});

describe('short functions', () => {
  it('a function with a 2 s timeout still publishes, and still retries a 500 once', async () => {
    const { cloud } = env;
    const { zipEvent } = await seedPair(cloud);
    cloud.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 500 });

    const run = await invoke([zipEvent], { timeoutSeconds: 2 });

    expect(run.error).toBeUndefined();
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
  });
});

describe('keys OSS cannot hold', () => {
  it('a zip whose result key would pass 1023 bytes is rejected with a message naming the limit', async () => {
    const { cloud } = env;
    const key = `layers/${'团'.repeat(336)}.zip`;
    const { zipEvent } = await seedPair(cloud);
    const event = structuredClone(zipEvent);
    event.oss.object.key = key;

    const run = await invoke([event]);

    expect(run.error?.message).toMatch(/1023-byte limit/);
    expect(cloud.oss.requests.entries).toHaveLength(0);
  });
});

describe('endpoints that do not serve ranges', () => {
  it('a zip read in ranges falls back to one GET when the endpoint answers a range with the whole object', async () => {
    const { cloud } = env;
    const zip = makeZip({ 'python/data.bin': patternBytes(17 * 1024 * 1024, 9) });
    const { zipEvent } = await seedPair(cloud, { zip, manifest: { layerName: 'left-pad', compatibleRuntime: ['python3.10'] } });
    env.server.use(
      http.get(/left-pad\.zip/, async ({ request }) => {
        const response = await cloud.oss.handle(request);
        if (!request.headers.has('range') || response.status !== 206) return response;
        // As an endpoint that ignores Range would: the whole object, 200.
        const headers = new Headers(response.headers);
        headers.delete('content-range');
        headers.set('content-length', String(zip.length));
        return new Response(new Uint8Array(zip), { status: 200, headers });
      }),
    );

    const run = await invoke([zipEvent], { env: { READ_CONCURRENCY: '4' } });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect((await readResult(cloud, RESULT_KEY))?.source.crc64).toBe(independentCrc64(zip));
    expect(run.lines.some((line) => line.step === 'zip.verified')).toBe(true);
  });
});
