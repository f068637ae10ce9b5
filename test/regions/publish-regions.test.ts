import { describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, type TestCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { refuseCreatesForGood, useMswRegionalCloud, type OtherRegion, type RegionalCloud } from '../support/regional-cloud';
import { expectNoSecrets, invoke, readResult, writtenObjects } from '../publish/helpers';

const env = useMswRegionalCloud();

const BASE = 'layers/left-pad';
const RESULT_KEY = `${BASE}.result.json`;
const REGION_NAMES = ['cn-hangzhou', 'cn-shanghai', 'cn-beijing'];

async function seedPair(home: TestCloud, manifest: unknown = NODE_MANIFEST, zip = nodejsLayerZip()) {
  await home.oss.putObject(TEST_BUCKET, `${BASE}.zip`, zip);
  await home.oss.putObject(TEST_BUCKET, `${BASE}.layer.json`, manifestBytes(manifest));
  return { zip, event: await home.oss.objectCreatedEvent(TEST_BUCKET, `${BASE}.zip`) };
}

function deliver(cloud: RegionalCloud, event: unknown, requestId = 'req-1', extra: Record<string, string> = {}) {
  return invoke([event], { env: { REGIONS: cloud.regionsEnv, ...extra }, requestId });
}

function createsIn(fc: TestCloud['fc'] | OtherRegion['fc']) {
  return fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion' && request.status < 300);
}

async function result(cloud: RegionalCloud): Promise<PublishResult> {
  const read = await readResult(cloud.home, RESULT_KEY);
  if (!read) throw new Error('no result written');
  return read;
}

describe('one upload, every region', () => {
  it('publishes the same bytes in the home region and every region of REGIONS, and says where each version is', async () => {
    const { cloud } = env;
    const { zip, event } = await seedPair(cloud.home);
    const crc64 = independentCrc64(zip);

    const run = await deliver(cloud, event);

    expect(run.error).toBeUndefined();
    expect(run.summary).toEqual([{ key: `${BASE}.zip`, status: 'published', layerName: 'left-pad', version: 1 }]);
    const written = await result(cloud);
    // The home region's fields stay where they were.
    expect(written).toMatchObject({ status: 'published', version: 1, arn: cloud.home.fc.versions('left-pad')[0]!.arn, source: { crc64 } });
    expect(Object.keys(written.regions!)).toEqual(REGION_NAMES);
    expect(written.regions!['cn-hangzhou']).toEqual({ status: 'published', home: true, version: 1, arn: written.arn, codeChecksum: crc64 });
    for (const other of cloud.regions) {
      const [version, ...more] = other.fc.versions('left-pad');
      expect(more).toEqual([]);
      expect(version!.codeChecksum).toBe(crc64);
      const entry = written.regions![other.region]!;
      expect(entry).toMatchObject({ status: 'published', version: version!.version, arn: version!.arn, codeChecksum: crc64 });
      // FC built the version from the staged copy in its own region, whose CRC OSS computed from the bytes.
      const [create] = createsIn(other.fc);
      expect(create!.body).toMatchObject({ Code: { ossBucketName: other.bucket, ossObjectName: entry.staged!.key } });
      expect(entry.staged).toMatchObject({ bucket: other.bucket, reused: false });
      expect(entry.staged!.key).toMatch(/^_audit\/staged\/[0-9a-f]{40}\/left-pad\.zip\.staged$/);
      expect(Buffer.from((await other.oss.readObject(other.bucket, entry.staged!.key))!)).toEqual(zip);
    }
    // The trail names each region it settled.
    const records = [...(await writtenObjects(cloud.home)).entries()].filter(([key]) => key.startsWith('_audit/records/')).map(([, text]) => JSON.parse(text));
    expect(
      records
        .filter((record) => record.kind === 'region')
        .map((record) => record.region)
        .sort(),
    ).toEqual(['cn-beijing', 'cn-shanghai']);
    expectNoSecrets((await writtenObjects(cloud.home)).values());
  });

  it('reads the zip from the home bucket no more often than a publish in the home region alone', async () => {
    const { cloud } = env;
    const zipGets = (key: string) => cloud.home.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === key).length;
    const { event } = await seedPair(cloud.home);
    await cloud.home.oss.putObject(TEST_BUCKET, 'solo/left-pad.zip', nodejsLayerZip('solo'));
    await cloud.home.oss.putObject(TEST_BUCKET, 'solo/left-pad.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'solo' }));

    await deliver(cloud, event);
    await invoke([await cloud.home.oss.objectCreatedEvent(TEST_BUCKET, 'solo/left-pad.zip')]);

    // The copies read what the verification read, from the instance's disk.
    expect(zipGets(`${BASE}.zip`)).toBe(zipGets('solo/left-pad.zip'));
    expect(Object.values((await result(cloud)).regions!).map((entry) => entry.status)).toEqual(['published', 'published', 'published']);
  });

  it('a redelivery publishes nothing anywhere and repeats the whole result', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home);
    await deliver(cloud, event);
    const first = await result(cloud);

    const again = await deliver(cloud, event, 'req-2');

    expect(again.error).toBeUndefined();
    expect(createsIn(cloud.home.fc)).toHaveLength(1);
    for (const other of cloud.regions) expect(createsIn(other.fc)).toHaveLength(1);
    expect((await result(cloud)).regions).toEqual(first.regions);
  });

  it('two deliveries at once make one version per region, and both report all of them', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home);

    const runs = await Promise.all([deliver(cloud, event, 'req-a'), deliver(cloud, event, 'req-b')]);

    for (const run of runs) expect(run.error).toBeUndefined();
    expect(cloud.home.fc.versions('left-pad')).toHaveLength(1);
    for (const other of cloud.regions) expect(other.fc.versions('left-pad')).toHaveLength(1);
    expect(Object.values((await result(cloud)).regions!).map((entry) => entry.status)).toEqual(['published', 'published', 'published']);
  });

  it('one region refusing for good leaves the others published, and says which region failed and why', async () => {
    const { cloud } = env;
    const beijing = cloud.region('cn-beijing');
    refuseCreatesForGood(beijing.fc);
    const { zip, event } = await seedPair(cloud.home);

    const run = await deliver(cloud, event);

    // Settled: a refusal will not pass by being delivered again.
    expect(run.error).toBeUndefined();
    expect(run.summary).toEqual([{ key: `${BASE}.zip`, status: 'published', layerName: 'left-pad', version: 1, regionsFailed: ['cn-beijing'] }]);
    const written = await result(cloud);
    expect(written.status).toBe('published');
    expect(written.regions!['cn-shanghai']).toMatchObject({ status: 'published', codeChecksum: independentCrc64(zip) });
    expect(written.regions!['cn-beijing']).toMatchObject({ status: 'failed', error: { code: 'FcRejected', retryable: false } });
    expect(written.regions!['cn-beijing']!.error!.message).toMatch(/^cn-beijing: FC CreateLayerVersion .*LayerQuotaExceeded: the layer has too many versions/);
    expect(beijing.fc.versions('left-pad')).toEqual([]);

    // Its outcome is settled: a redelivery does not try it again.
    const tried = beijing.fc.requests.entries.length;
    await deliver(cloud, event, 'req-2');
    expect(beijing.fc.requests.entries.length).toBe(tried);
  });

  it('a transient failure in one region writes the result, rejects, and the retry does only that region', async () => {
    const { cloud } = env;
    const shanghai = cloud.region('cn-shanghai');
    const beijing = cloud.region('cn-beijing');
    shanghai.fc.faults.inject({ match: (target) => target.action === 'CreateLayerVersion', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const { zip, event } = await seedPair(cloud.home);

    const first = await deliver(cloud, event);

    expect(first.error?.message).toMatch(/must be delivered again: .*not yet published in cn-shanghai: cn-shanghai: /);
    const partial = await result(cloud);
    expect(partial.status).toBe('published');
    expect(partial.regions!['cn-shanghai']).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
    expect(partial.regions!['cn-beijing']).toMatchObject({ status: 'published' });
    expect(first.summary).toBeUndefined();

    shanghai.fc.faults.clear();
    const beijingRequests = beijing.fc.requests.entries.length + beijing.oss.requests.entries.length;
    const homeCreates = createsIn(cloud.home.fc).length;
    const retry = await deliver(cloud, event, 'req-2');

    expect(retry.error).toBeUndefined();
    expect(retry.summary).toEqual([{ key: `${BASE}.zip`, status: 'published', layerName: 'left-pad', version: 1 }]);
    // The finished regions are not redone: no request reaches Beijing, no second create at home.
    expect(beijing.fc.requests.entries.length + beijing.oss.requests.entries.length).toBe(beijingRequests);
    expect(createsIn(cloud.home.fc)).toHaveLength(homeCreates);
    expect(shanghai.fc.versions('left-pad')).toHaveLength(1);
    const complete = await result(cloud);
    expect(Object.values(complete.regions!).map((entry) => [entry.status, entry.codeChecksum])).toEqual(
      REGION_NAMES.map(() => ['published', independentCrc64(zip)]),
    );
    // The staged copy the first delivery made is the one the retry used.
    expect(complete.regions!['cn-shanghai']!.staged!.reused).toBe(true);
  });

  it('retention keeps the newest versions in every region the upload was published in', async () => {
    const { cloud } = env;
    const manifest = { ...NODE_MANIFEST, retain: 1 };
    await deliver(cloud, (await seedPair(cloud.home, manifest, nodejsLayerZip('v1'))).event);
    const { event } = await seedPair(cloud.home, manifest, nodejsLayerZip('v2'));

    const run = await deliver(cloud, event, 'req-2');

    expect(run.error).toBeUndefined();
    const written = await result(cloud);
    expect(written.retention).toMatchObject({ keep: 1, deleted: [1] });
    for (const other of cloud.regions) {
      expect(other.fc.versions('left-pad').map((version) => version.version)).toEqual([2]);
      expect(written.regions![other.region]).toMatchObject({ status: 'published', version: 2, retention: { keep: 1, deleted: [1], kept: [] } });
    }
    const deletions = [...(await writtenObjects(cloud.home)).values()].map((text) => JSON.parse(text)).filter((record) => record.kind === 'deleted');
    expect(deletions.map((record) => record.region ?? 'home').sort()).toEqual(['cn-beijing', 'cn-shanghai', 'home']);
  });

  it('a staging bucket that does not exist is named, and delivered again as a missing home bucket would be', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home);

    const run = await invoke([event], { env: { REGIONS: 'cn-shanghai=team-layers-sh,cn-beijing=no-such-staging' } });

    // An operator who creates the bucket gets the region through the next delivery.
    expect(run.error?.message).toContain('not yet published in cn-beijing');
    const written = await result(cloud);
    expect(written.status).toBe('published');
    expect(written.regions!['cn-shanghai']!.status).toBe('published');
    expect(written.regions!['cn-beijing']).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
    expect(written.regions!['cn-beijing']!.error!.message).toMatch(/^cn-beijing: copying to no-such-staging: OSS PutObject .* NoSuchBucket/);
  });

  it("under FC 3.0 every region gets the verified CRC-64 as the create's checksum", async () => {
    const { cloud } = env;
    const { zip, event } = await seedPair(cloud.home);

    const run = await deliver(cloud, event, 'req-1', { FC_API_VERSION: '2023-03-30' });

    expect(run.error).toBeUndefined();
    for (const other of cloud.regions) {
      const [create] = createsIn(other.fc);
      expect(create!.path).toBe('/2023-03-30/layers/left-pad/versions');
      expect(create!.body).toMatchObject({ code: { checksum: independentCrc64(zip), ossBucketName: other.bucket } });
    }
    expect(Object.values((await result(cloud)).regions!).map((entry) => entry.status)).toEqual(['published', 'published', 'published']);
  });

  it('a region whose link is too slow for the invocation is left for the next delivery, in time to write the result', async () => {
    const { cloud } = env;
    const shanghai = cloud.region('cn-shanghai');
    shanghai.oss.faults.inject({ match: (target) => target.method === 'PUT', delayMs: 60_000, times: Infinity });
    const { event } = await seedPair(cloud.home);

    // Waiting for the 60 s PUT would outlive this test's own 30 s: the invocation's deadline ends it.
    const run = await invoke([event], { env: { REGIONS: cloud.regionsEnv }, timeoutSeconds: 6 });

    expect(run.error?.message).toContain('not yet published in cn-shanghai');
    const written = await result(cloud);
    expect(written.status).toBe('published');
    expect(written.regions!['cn-beijing']!.status).toBe('published');
    expect(written.regions!['cn-shanghai']).toMatchObject({ status: 'failed', error: { code: 'Unavailable', retryable: true } });
    expect(shanghai.fc.requests.entries).toEqual([]);
  });

  it.each([
    ["from the instance's disk, the verified bytes are copied", true],
    ["with no room on the instance's disk, the copy finds it replaced and leaves it", false],
  ])('a zip replaced after it was verified: %s, and the newer upload is published everywhere', async (_, spooled) => {
    const { cloud } = env;
    const shanghai = cloud.region('cn-shanghai');
    // Shanghai's copy starts late: by then the home region has published and the zip is replaced.
    shanghai.oss.faults.inject({ match: (target) => target.method === 'HEAD', delayMs: 1_500 });
    const { zip, event } = await seedPair(cloud.home);
    const tmp = process.env.TMPDIR;
    // The spool's disk check cannot reach a folder that does not exist: the copies read OSS instead.
    if (!spooled) process.env.TMPDIR = '/nonexistent-spool-dir';
    let first: Awaited<ReturnType<typeof deliver>>;
    let newer: Awaited<ReturnType<typeof seedPair>>;
    try {
      const running = deliver(cloud, event);
      while (cloud.home.fc.versions('left-pad').length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      newer = await seedPair(cloud.home, NODE_MANIFEST, nodejsLayerZip('v2'));
      first = await running;
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }

    if (spooled) {
      // The first upload was published in every region, as at home; its result gives way to the newer one's.
      expect(first.error).toBeUndefined();
      expect(shanghai.fc.versions('left-pad').map((version) => version.codeChecksum)).toEqual([independentCrc64(zip)]);
    } else {
      expect(first.error?.message).toContain('was replaced while it was copied to team-layers-sh');
      expect(shanghai.fc.versions('left-pad')).toEqual([]);
      // Delivered again, the old event is stale.
      expect((await deliver(cloud, event, 'req-2')).summary).toEqual([{ key: `${BASE}.zip`, status: 'stale' }]);
    }
    const second = await deliver(cloud, newer.event, 'req-3');
    expect(second.error).toBeUndefined();
    const written = await result(cloud);
    expect(written.source.crc64).toBe(independentCrc64(newer.zip));
    expect(Object.values(written.regions!).map((entry) => [entry.status, entry.codeChecksum])).toEqual(
      REGION_NAMES.map(() => ['published', written.source.crc64]),
    );
  });

  it("a region's outcome that cannot be recorded is decided again by the next delivery, which adopts its version", async () => {
    const { cloud } = env;
    cloud.home.oss.faults.inject({
      match: (target) => target.method === 'PUT' && target.key.endsWith('/regions/cn-shanghai/outcome.json'),
      status: 503,
      times: Infinity,
    });
    const { event } = await seedPair(cloud.home);

    const first = await deliver(cloud, event);

    expect(first.error?.message).toContain('not yet published in cn-shanghai: cn-shanghai: its outcome could not be recorded');
    expect((await result(cloud)).regions!['cn-shanghai']!.status).toBe('published');
    cloud.home.oss.faults.clear();
    const second = await deliver(cloud, event, 'req-2');

    expect(second.error).toBeUndefined();
    const shanghai = cloud.region('cn-shanghai');
    expect(createsIn(shanghai.fc)).toHaveLength(1);
    expect((await result(cloud)).regions!['cn-shanghai']).toMatchObject({ status: 'published', version: 1 });
  });

  it('a manifest narrows REGIONS to the regions it lists', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home, { ...NODE_MANIFEST, regions: ['cn-shanghai'] });

    await deliver(cloud, event);

    const written = await result(cloud);
    expect(Object.keys(written.regions!)).toEqual(['cn-hangzhou', 'cn-shanghai']);
    expect(cloud.region('cn-beijing').fc.requests.entries).toEqual([]);
    expect(cloud.region('cn-beijing').oss.requests.entries).toEqual([]);
  });

  it('`"regions": []` publishes in the home region only', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home, { ...NODE_MANIFEST, regions: [] });

    await deliver(cloud, event);

    expect(Object.keys((await result(cloud)).regions!)).toEqual(['cn-hangzhou']);
    for (const other of cloud.regions) expect(other.fc.requests.entries).toEqual([]);
  });

  it('a manifest cannot widen REGIONS: the region it adds is named', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home, { ...NODE_MANIFEST, regions: ['cn-shanghai', 'ap-southeast-1'] });

    const run = await deliver(cloud, event);

    expect(run.error).toBeUndefined();
    const written = await result(cloud);
    expect(written).toMatchObject({ status: 'failed', error: { code: 'ManifestInvalid', retryable: false } });
    expect(written.error!.message).toContain('regions names ap-southeast-1');
    expect(written.error!.message).toContain('REGIONS configures cn-shanghai, cn-beijing');
    expect(cloud.home.fc.versions('left-pad')).toEqual([]);
  });

  it('a zip that fails its checks is published nowhere', async () => {
    const { cloud } = env;
    const zip = nodejsLayerZip();
    // A flipped byte inside the first entry's data: its CRC-32 no longer matches.
    zip.writeUInt8(zip.readUInt8(60) ^ 0xff, 60);
    const { event } = await seedPair(cloud.home, NODE_MANIFEST, zip);

    const run = await deliver(cloud, event);

    expect(run.error).toBeUndefined();
    const written = await result(cloud);
    expect(written.status).toBe('failed');
    expect(written.regions).toBeUndefined();
    expect(cloud.home.fc.versions('left-pad')).toEqual([]);
    for (const other of cloud.regions) expect(other.fc.requests.entries).toEqual([]);
  });

  it('REGIONS naming the home region is refused with the entry quoted, and nothing is published', async () => {
    const { cloud } = env;
    const { event } = await seedPair(cloud.home);

    const run = await invoke([event], { env: { REGIONS: 'cn-shanghai=team-layers-sh,cn-hangzhou=team-layers-hz' } });

    expect(run.error?.message).toContain('REGIONS entry "cn-hangzhou=team-layers-hz" names cn-hangzhou');
    expect((await result(cloud)).error).toMatchObject({ code: 'Unavailable', retryable: true });
    expect(cloud.home.fc.versions('left-pad')).toEqual([]);
  });

  it('the home region failing for good still publishes the others, and the result says so', async () => {
    const { cloud } = env;
    cloud.home.fc.faults.inject({ match: (target) => target.action === 'CreateLayerVersion', status: 403, code: 'AccessDenied', times: Infinity });
    const { event } = await seedPair(cloud.home);

    const run = await deliver(cloud, event);

    expect(run.error).toBeUndefined();
    const written = await result(cloud);
    expect(written).toMatchObject({ status: 'failed', error: { code: 'FcRejected', retryable: false } });
    expect(written.regions!['cn-hangzhou']).toMatchObject({ status: 'failed', home: true, error: { code: 'FcRejected' } });
    expect(written.regions!['cn-shanghai']!.status).toBe('published');
    expect(written.regions!['cn-beijing']!.status).toBe('published');
  });
});
