import { describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/report/drift';
import { createFcEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { fc2Client } from '../support/fc2';
import { independentCrc64 } from '../support/independent';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { fcFlags, ossFlags, publishThroughHandler, runCommand, runCommandWith, useLoopbackCloud } from '../report/published-trail';
import { TEST_WEBHOOK_SECRET, startReceiver } from '../support/receiver';

const env = useLoopbackCloud();

/** left-pad v1 and v2 and other v1, each published from the bucket. */
async function publishTwoLayers() {
  const { cloud } = env;
  const zips = { v1: nodejsLayerZip('v1'), v2: nodejsLayerZip('v2'), other: nodejsLayerZip('o1') };
  await publishThroughHandler(cloud, 'layers/left-pad', zips.v1, NODE_MANIFEST);
  await publishThroughHandler(cloud, 'layers/left-pad', zips.v2, NODE_MANIFEST);
  await publishThroughHandler(cloud, 'layers/other', zips.other, { ...NODE_MANIFEST, layerName: 'other' });
  return zips;
}

async function verify(fcEndpoint = env.cloud.fcEndpoint, ...flags: string[]) {
  const json = await runCommand('verify', ...ossFlags(env.cloud), ...fcFlags({ fcEndpoint }), '--json', ...flags);
  const text = await runCommand('verify', ...ossFlags(env.cloud), ...fcFlags({ fcEndpoint }), ...flags);
  expect(text.code).toBe(json.code);
  return { code: json.code, report: JSON.parse(json.out) as VerifyReport, text: text.out, err: json.err };
}

describe('layer-publisher verify', () => {
  it('exits 0 when Function Compute holds exactly what the trail published', async () => {
    await publishTwoLayers();
    const { code, report, text } = await verify();
    expect(code).toBe(0);
    expect(report).toMatchObject({
      ok: true,
      drift: [],
      layers: [
        { layerName: 'left-pad', fcVersions: [1, 2], recordedVersions: [1, 2] },
        { layerName: 'other', fcVersions: [1], recordedVersions: [1] },
      ],
    });
    expect(text).toContain('checked 2 layers, 3 versions in Function Compute: no drift');
  });

  it('exits 1 for a version created directly through FC’s API, outside the bucket', async () => {
    await publishTwoLayers();
    // A person publishing by hand with Alibaba's fc2 SDK: a signed CreateLayerVersion over HTTP.
    const direct = await fc2Client({ endpoint: env.cloud.fcEndpoint }).publishLayerVersion('left-pad', {
      Code: { zipFile: nodejsLayerZip('by hand').toString('base64') },
      compatibleRuntime: ['nodejs20'],
    });
    expect(direct.data).toMatchObject({ version: 3 });

    const { code, report, text } = await verify();
    expect(code).toBe(1);
    expect(report.drift).toEqual([
      expect.objectContaining({ layerName: 'left-pad', version: 3, kind: 'unrecorded', fcChecksum: independentCrc64(nodejsLayerZip('by hand')) }),
    ]);
    expect(report.drift[0]!.message).toContain('made outside the bucket');
    expect(text).toMatch(/^left-pad\s+3\s+unrecorded\s/m);
    expect(text).toContain('1 drifted');
  });

  it('exits 1 for a published version deleted outside the bucket', async () => {
    const zips = await publishTwoLayers();
    await fc2Client({ endpoint: env.cloud.fcEndpoint }).deleteLayerVersion('left-pad', 1);

    const { code, report, text } = await verify();
    expect(code).toBe(1);
    expect(report.drift).toEqual([expect.objectContaining({ layerName: 'left-pad', version: 1, kind: 'missing', recordedCrc64: independentCrc64(zips.v1) })]);
    expect(report.drift[0]!.message).toMatch(/version 1 was published \(_audit\/records\/.*\), but Function Compute no longer has it/);
    expect(text).toMatch(/^left-pad\s+1\s+missing\s/m);
  });

  it('exits 1 for a version whose codeChecksum is not the CRC-64 recorded at publish', async () => {
    const zips = await publishTwoLayers();
    // A Function Compute whose version 1 of other holds other code than the bucket published.
    const fc = createFcEmulator({ accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS], readObject: async () => undefined });
    const replaced = nodejsLayerZip('replaced');
    fc.seedVersion('other', { code: replaced, description: NODE_MANIFEST.description, compatibleRuntime: NODE_MANIFEST.compatibleRuntime });
    const server = await serve(fc.handle);
    try {
      const { code, report, text } = await verify(server.url, '--layer', 'other');
      expect(code).toBe(1);
      expect(report.drift).toEqual([
        expect.objectContaining({
          layerName: 'other',
          version: 1,
          kind: 'checksum',
          fcChecksum: independentCrc64(replaced),
          recordedCrc64: independentCrc64(zips.other),
        }),
      ]);
      expect(report.layers.map((layer) => layer.layerName)).toEqual(['other']);
      expect(text).toMatch(new RegExp(`^other\\s+1\\s+checksum\\s+${independentCrc64(replaced)}\\s+${independentCrc64(zips.other)}\\s`, 'm'));
    } finally {
      await server.close();
    }
  });

  it('never puts a name from a hand-written record into an FC request path', async () => {
    await publishTwoLayers();
    const { cloud } = env;
    const hostile = {
      kind: 'result',
      status: 'published',
      layerName: 'x/versions/1',
      version: 1,
      source: { key: 'layers/x.zip', crc64: '1' },
      finishedAt: new Date().toISOString(),
    };
    await cloud.oss.putObject(TEST_BUCKET, `_audit/records/${hostile.finishedAt.slice(0, 10)}/hostile.json`, Buffer.from(JSON.stringify(hostile)));

    const { code, report } = await verify();
    expect(code).toBe(0);
    expect(report.layers.map((layer) => layer.layerName)).toEqual(['left-pad', 'other']);
    expect(cloud.fc.requests.entries.map((request) => request.path)).not.toContainEqual(expect.stringContaining('x/versions'));
    const badLayer = await runCommand('verify', ...ossFlags(cloud), ...fcFlags(cloud), '--layer', 'x/versions/1');
    expect(badLayer.code).toBe(2);
    expect(badLayer.err).toContain('is not a Function Compute layer name');
  });

  it('exits 2 naming what is missing or wrong, before reading anything', async () => {
    const { cloud } = env;
    const noAccount = await runCommand('verify', ...ossFlags(cloud));
    expect(noAccount.code).toBe(2);
    expect(noAccount.err).toContain('--account-id');
    const badEndpoint = await runCommand('verify', ...ossFlags(cloud), '--fc-endpoint', 'fc.example.com');
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.err).toContain('--fc-endpoint must be a URL');
    const since = await runCommand('verify', ...ossFlags(cloud), ...fcFlags(cloud), '--since', '2026-01-01');
    expect(since.code).toBe(2);
    expect(since.err).toContain('unknown flag --since');
  });

  it('exits 5 (access denied) when Function Compute refuses the key, and says so', async () => {
    await publishTwoLayers();
    // Another account's Function Compute: it checks the signature and knows none of our keys.
    const stranger = { accessKeyId: 'LTAIsomeoneElse', accessKeySecret: 'someone-else-secret' };
    const fc = createFcEmulator({ accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [stranger], readObject: async () => undefined });
    const server = await serve(fc.handle);
    try {
      const refused = await runCommand('verify', ...ossFlags(env.cloud), ...fcFlags({ fcEndpoint: server.url }));
      expect(refused.code).toBe(5);
      expect(refused.err).toMatch(/listing the versions of layer left-pad in Function Compute failed: .*HTTP 403/);
    } finally {
      await server.close();
    }
  });

  it('--notify sends the drift to the configured webhook as one signed notice, and says how it went', async () => {
    await publishTwoLayers();
    await fc2Client({ endpoint: env.cloud.fcEndpoint }).publishLayerVersion('left-pad', {
      Code: { zipFile: nodejsLayerZip('by hand').toString('base64') },
      compatibleRuntime: ['nodejs20'],
    });
    const hook = await startReceiver();
    try {
      const variables = { NOTIFY_WEBHOOK_URL: hook.url, NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, NOTIFY_ON: 'drift' };
      const run = await runCommandWith(variables, 'verify', ...ossFlags(env.cloud), ...fcFlags(env.cloud), '--notify');
      expect(run.code).toBe(1);
      expect(run.err).toContain('notice: webhook sent');
      expect(hook.received).toHaveLength(1);
      expect(JSON.parse(hook.received[0]!.body)).toMatchObject({
        kind: 'drift',
        layerName: 'left-pad',
        details: { drift: [{ layerName: 'left-pad', version: 3, kind: 'unrecorded' }] },
      });
      expect(hook.received[0]!.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      // Without drift in NOTIFY_ON, nothing is sent, and it says why.
      const quiet = await runCommandWith({ ...variables, NOTIFY_ON: 'published' }, 'verify', ...ossFlags(env.cloud), ...fcFlags(env.cloud), '--notify');
      expect(quiet.err).toContain('notice: not sent: NOTIFY_ON does not name drift');
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});
