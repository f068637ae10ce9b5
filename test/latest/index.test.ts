import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/follow-ups/decision';
import { createLogger } from '../../src/log/logger';
import { layerIndexSchema, listingSchema, type LayerIndex } from '../../src/latest/schema';
import { updateIndex, type IndexDeps } from '../../src/latest/update';
import { createOssStore } from '../../src/oss/ali-oss-store';
import type { ObjectStore } from '../../src/oss/store';
import type { PublishResult } from '../../src/publish/result';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { LAYER, RESULT_KEY, deliver, seedPair } from '../faults/scenario';

/**
 * The latest-version index (docs/index-and-notices.md): written after each decision that names a
 * newer version, never moved backwards, by a late decision or by two writers at once.
 */
const env = useMswCloud();
const INDEX_KEY = `_index/layers/${LAYER}.json`;

async function publish(seed: string, extra: object = {}) {
  const { zipEvent } = await seedPair(env.cloud, { zip: nodejsLayerZip(seed), manifest: { ...NODE_MANIFEST, ...extra } });
  const run = await deliver([zipEvent]);
  return { run, zipEvent, result: (await readJson<PublishResult>(env.cloud, RESULT_KEY))! };
}

const indexPuts = () => env.cloud.oss.requests.entries.filter((r) => r.method === 'PUT' && r.key.startsWith('_index/'));

describe('the index after a publish', () => {
  it('names the new version\u2019s ARN, runtimes, description, license and uploader, and lists the layer', async () => {
    const { result } = await publish('v1', { license: 'MIT' });

    const index = layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY));
    const arn = result.arn!;
    expect(arn).toEqual(expect.any(String));
    expect(index.regions[TEST_REGION]).toMatchObject({
      version: 1,
      arn,
      codeChecksum: result.source.crc64,
      compatibleRuntime: NODE_MANIFEST.compatibleRuntime,
      description: NODE_MANIFEST.description,
      license: 'MIT',
      publishedAt: result.finishedAt,
      publishedBy: { zip: { principalId: TEST_ACCOUNT_ID, sourceIp: '127.0.0.1' } },
      resultKey: RESULT_KEY,
    });
    const listing = listingSchema.parse(await readJson(env.cloud, '_index/layers.json'));
    expect(listing.layers[LAYER]).toEqual({ key: INDEX_KEY, regions: { [TEST_REGION]: { version: 1, arn, publishedAt: result.finishedAt } } });
    expect(result).toMatchObject({ index: { key: INDEX_KEY, listing: '_index/layers.json', status: 'written', versions: { [TEST_REGION]: 1 } } });
  });

  it('a redelivery of the same event writes nothing to the index and repeats its outcome', async () => {
    const { zipEvent, result } = await publish('v1');
    const puts = indexPuts().length;

    const again = await deliver([zipEvent]);

    expect(again.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(indexPuts()).toHaveLength(puts);
    expect((await readJson<PublishResult>(env.cloud, RESULT_KEY))?.index).toEqual(result.index);
  });

  it('an older upload replayed after a newer one leaves the index on the newer version', async () => {
    const first = await publish('v1');
    const second = await publish('v2');
    expect(second.result.version).toBe(2);

    // The first upload's event again: its zip was replaced, so it is stale and changes nothing.
    const replay = await deliver([first.zipEvent]);
    expect(replay.summary?.[0]?.status).toBe('stale');
    expect(layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY)).regions[TEST_REGION]?.version).toBe(2);
    // And its decision's follow-up running late, as a crashed delivery's would: still version 2.
    const late = await updateIndex(decisionOf(first.result), indexDeps(store()));
    expect(late).toMatchObject({ status: 'current', versions: { [TEST_REGION]: 1 } });
    const index = layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY));
    expect(index.regions[TEST_REGION]).toMatchObject({ version: 2, arn: second.result.arn });
  });
});

describe('two writers at once', () => {
  it('the older writer\u2019s PUT landing after the newer writer finished is put right before the older one returns', async () => {
    const gate = deferred();
    const blocked = deferred();
    const landed: number[] = [];
    const slow = holdingFirstPut(recording(store(), landed), INDEX_KEY, gate.promise, blocked.resolve);
    const older = updateIndex(decision(5), indexDeps(slow));
    await blocked.promise;

    // The newer decision runs to its end while the older one's document is still on its way.
    expect(await updateIndex(decision(6), indexDeps(recording(store(), landed)))).toMatchObject({ status: 'written' });
    expect(await versionInIndex()).toBe(6);
    gate.resolve();

    expect(await older).toMatchObject({ status: 'written', versions: { [TEST_REGION]: 5 } });
    // The late PUT did land with version 5 (the race happened), and its own writer put 6 back.
    expect(landed).toEqual([6, 5, 6]);
    expect(await versionInIndex()).toBe(6);
    const listing = listingSchema.parse(await readJson(env.cloud, '_index/layers.json'));
    expect(listing.layers[LAYER]?.regions[TEST_REGION]?.version).toBe(6);
  });

  it('the newer writer\u2019s PUT landing last also ends on the newer version', async () => {
    const gate = deferred();
    const blocked = deferred();
    const newer = updateIndex(decision(6), indexDeps(holdingFirstPut(store(), INDEX_KEY, gate.promise, blocked.resolve)));
    await blocked.promise;
    await updateIndex(decision(5), indexDeps(store()));
    gate.resolve();
    await newer;
    expect(await versionInIndex()).toBe(6);
  });

  it('a document someone broke by hand is rebuilt from the log', async () => {
    await updateIndex(decision(3), indexDeps(store()));
    await env.cloud.oss.putObject(TEST_BUCKET, INDEX_KEY, Buffer.from('not json'));
    await updateIndex(decision(2), indexDeps(store()));
    expect(await versionInIndex()).toBe(3);
  });

  it('another layer\u2019s document at the key is not this layer\u2019s: rebuilt from the log', async () => {
    await updateIndex(decision(3), indexDeps(store()));
    const other = { ...layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY)), layerName: 'other', seq: 99 };
    await env.cloud.oss.putObject(TEST_BUCKET, INDEX_KEY, Buffer.from(JSON.stringify(other)));
    await updateIndex(decision(2), indexDeps(store()));
    expect(layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY))).toMatchObject({
      layerName: LAYER,
      seq: 2,
      regions: { [TEST_REGION]: { version: 3 } },
    });
  });

  it('a log entry not of the shape written (or of another layer) is skipped', async () => {
    await updateIndex(decision(3), indexDeps(store()));
    const stray = {
      layerName: 'other',
      regions: { [TEST_REGION]: { ...layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY)).regions[TEST_REGION], version: 9 } },
    };
    await env.cloud.oss.putObject(TEST_BUCKET, `_audit/index/layers/${LAYER}/2.json`, Buffer.from(JSON.stringify(stray)));
    await env.cloud.oss.putObject(TEST_BUCKET, `_audit/index/layers/${LAYER}/3.json`, Buffer.from('{ "layerName": 4'));
    await updateIndex(decision(4), indexDeps(store()));
    expect(layerIndexSchema.parse(await readJson(env.cloud, INDEX_KEY))).toMatchObject({ seq: 4, regions: { [TEST_REGION]: { version: 4 } } });
  });

  it('an outcome marker that cannot be read counts as absent: the index is brought up again, and already holds the decision', async () => {
    await updateIndex(decision(3), indexDeps(store()));
    await env.cloud.oss.putObject(TEST_BUCKET, '_audit/uploads/upload-3/index.json', Buffer.from(JSON.stringify({ status: 'written' })));
    const puts = indexPuts().length;
    expect(await updateIndex(decision(3), indexDeps(store()))).toMatchObject({ status: 'current', versions: { [TEST_REGION]: 3 } });
    expect(indexPuts()).toHaveLength(puts);
  });
});

async function versionInIndex(): Promise<number | undefined> {
  const index = (await readJson<LayerIndex>(env.cloud, INDEX_KEY))!;
  return index.regions[TEST_REGION]?.version;
}

function store(): ObjectStore {
  return createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 });
}

function indexDeps(objectStore: ObjectStore): IndexDeps {
  return {
    store: objectStore,
    retrying: (_step, operation) => operation(1),
    now: () => new Date(),
    auditPrefix: '_audit/',
    indexPrefix: '_index/',
    log: createLogger({ write: () => undefined }),
    hasTime: () => true,
  };
}

/** A store that notes the home region's version of every index document it PUTs, once OSS took it. */
function recording(inner: ObjectStore, landed: number[]): ObjectStore {
  return {
    ...inner,
    bucket: inner.bucket,
    put: async (key, body, options) => {
      const answer = await inner.put(key, body, options);
      if (key === INDEX_KEY) landed.push((JSON.parse(String(body)) as LayerIndex).regions[TEST_REGION]!.version);
      return answer;
    },
  };
}

/** A store whose first PUT of `key` waits for `gate`, after saying it was reached. */
function holdingFirstPut(inner: ObjectStore, key: string, gate: Promise<void>, reached: () => void): ObjectStore {
  let held = false;
  return {
    ...inner,
    bucket: inner.bucket,
    put: async (putKey, body, options) => {
      if (putKey === key && !held) {
        held = true;
        reached();
        await gate;
      }
      return inner.put(putKey, body, options);
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A published decision of version `version` in the home region, distinct upload per version. */
function decision(version: number): Decision {
  return {
    status: 'published',
    layerName: LAYER,
    uploadId: `upload-${version}`,
    resultKey: RESULT_KEY,
    regions: [
      {
        region: TEST_REGION,
        home: true,
        status: 'published',
        version,
        arn: `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/${LAYER}/versions/${version}`,
        codeChecksum: String(1000 + version),
      },
    ],
    manifest: { compatibleRuntime: ['nodejs20'] },
    source: { bucket: TEST_BUCKET, key: 'layers/left-pad.zip' },
    error: undefined,
    provenance: undefined,
    requestId: `request-${version}`,
    decidedAt: new Date().toISOString(),
  };
}

function decisionOf(result: PublishResult): Decision {
  return {
    ...decision(result.version!),
    uploadId: undefined,
    regions: [{ region: TEST_REGION, home: true, status: 'published', version: result.version, arn: result.arn }],
  };
}
