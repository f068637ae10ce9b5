import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { type LoopbackServer, type OssEmulator, createOssEmulator, serve } from '../../src/emulator';
import type { Decision } from '../../src/follow-ups/decision';
import { updateIndex } from '../../src/latest/update';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import { createLogger } from '../../src/log/logger';
import { createOssStore } from '../../src/oss/ali-oss-store';

/** `layer-publisher latest`: the ARN alone for scripts, the entry with --json, and its exit codes. */
const BUCKET = 'latest-index';
let oss: OssEmulator;
let server: LoopbackServer;

const arn = (region: string, layer: string, version: number): string => `acs:fc:${region}:${LOCAL_ACCOUNT_ID}:layers/${layer}/versions/${version}`;

function decision(layerName: string, regions: Array<[string, number]>): Decision {
  return {
    status: 'published',
    layerName,
    uploadId: undefined,
    resultKey: `layers/${layerName}.result.json`,
    regions: regions.map(([region, version], index) => ({
      region,
      home: index === 0,
      status: 'published',
      version,
      arn: arn(region, layerName, version),
      codeChecksum: '2825179536350126003',
    })),
    manifest: { compatibleRuntime: ['python3.10'], description: 'Pillow 10', license: 'HPND' },
    source: { bucket: BUCKET, key: `layers/${layerName}.zip`, crc64: '2825179536350126003' },
    error: undefined,
    provenance: { zip: { principalId: '203456789' }, functionRequestId: 'r-1' },
    requestId: 'r-1',
    decidedAt: '2026-12-07T04:00:00.000Z',
  };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (text) => (out += text), err: (text) => (err += text), env: {}, interactive: false });
  return { code, out, err };
}

beforeAll(async () => {
  oss = createOssEmulator({ accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS], buckets: [BUCKET] });
  server = await serve(oss.handle);
  const store = createOssStore({ bucket: BUCKET, region: LOCAL_REGION, endpoint: new URL(server.url), credentials: LOCAL_CREDENTIALS, timeoutMs: 5_000 });
  const deps = {
    store,
    retrying: <T>(_step: string, operation: (attempt: number) => Promise<T>) => operation(1),
    now: () => new Date(),
    auditPrefix: '_audit/',
    indexPrefix: '_index/',
    log: createLogger({ write: () => undefined }),
    hasTime: () => true,
  };
  await updateIndex(decision('pillow', [[LOCAL_REGION, 3]]), deps);
  await updateIndex(
    decision('numpy', [
      [LOCAL_REGION, 2],
      ['cn-shanghai', 5],
    ]),
    deps,
  );
});

afterAll(async () => {
  await server.close();
});

describe('layer-publisher latest', () => {
  it('prints the ARN alone, for ARN=$(layer-publisher latest my-layer)', async () => {
    const printed = await cli('latest', 'pillow', '--bucket', BUCKET, '--endpoint', server.url);
    expect(printed).toEqual({ code: 0, out: `${arn(LOCAL_REGION, 'pillow', 3)}\n`, err: '' });
  });

  it('--json prints the whole entry, with its region', async () => {
    const printed = await cli('latest', 'pillow', '--bucket', BUCKET, '--endpoint', server.url, '--json');
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.out)).toMatchObject({
      region: LOCAL_REGION,
      version: 3,
      arn: arn(LOCAL_REGION, 'pillow', 3),
      codeChecksum: '2825179536350126003',
      compatibleRuntime: ['python3.10'],
      description: 'Pillow 10',
      license: 'HPND',
      publishedAt: '2026-12-07T04:00:00.000Z',
      publishedBy: { zip: { principalId: '203456789' } },
    });
  });

  it('a layer in several regions needs --region (exit 2), and prints that region\u2019s ARN with it', async () => {
    const ambiguous = await cli('latest', 'numpy', '--bucket', BUCKET, '--endpoint', server.url);
    expect(ambiguous).toMatchObject({ code: 2, out: '' });
    expect(ambiguous.err).toContain('layer numpy is published in cn-hangzhou, cn-shanghai: choose one with --region');
    expect(await cli('latest', 'numpy', '--bucket', BUCKET, '--endpoint', server.url, '--region', 'cn-shanghai')).toMatchObject({
      code: 0,
      out: `${arn('cn-shanghai', 'numpy', 5)}\n`,
    });
  });

  it('exits 1 when the index has no such layer or no version in that region, 2 for a name FC would refuse', async () => {
    const missing = await cli('latest', 'scipy', '--bucket', BUCKET, '--endpoint', server.url);
    expect(missing).toMatchObject({ code: 1, out: '' });
    expect(missing.err).toContain('no index for layer scipy at _index/layers/scipy.json');
    const elsewhere = await cli('latest', 'pillow', '--bucket', BUCKET, '--endpoint', server.url, '--region', 'cn-beijing');
    expect(elsewhere).toMatchObject({ code: 1, out: '' });
    expect(elsewhere.err).toContain('layer pillow has no version in cn-beijing (it has in cn-hangzhou)');
    expect(await cli('latest', '../x', '--bucket', BUCKET, '--endpoint', server.url)).toMatchObject({ code: 2, out: '' });
    expect(await cli('latest', '--bucket', BUCKET, '--endpoint', server.url)).toMatchObject({
      code: 2,
      err: expect.stringContaining('latest needs exactly one <layer>'),
    });
  });

  it('exits 1 naming the key when the document there is not an index the publisher wrote', async () => {
    await oss.putObject(BUCKET, '_index/layers/broken.json', Buffer.from(JSON.stringify({ schema: 'something else' })));
    const broken = await cli('latest', 'broken', '--bucket', BUCKET, '--endpoint', server.url);
    expect(broken).toMatchObject({ code: 1, out: '' });
    expect(broken.err).toContain('_index/layers/broken.json is not an index the publisher wrote');
  });
});
