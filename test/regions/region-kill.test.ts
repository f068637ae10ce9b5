import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, serve } from '../../src/emulator';
import type { PublishResult } from '../../src/publish/result';
import { spawnHandler, type BundleProcess } from '../support/bundle-process';
import { TEST_BUCKET, testContext } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { createRegionalCloud, type RegionalCloud } from '../support/regional-cloud';

/**
 * A crash in several regions: the bundled handler, in a child process over loopback sockets, is SIGKILLed
 * right after the second region's CreateLayerVersion was carried out (its answer held back), once
 * every region holds its version. A fresh process then gets the event again: one version per
 * region, none made twice, and a result that names all three. With a 600 s function (s.yaml's
 * timeout) the dead attempt's claim holds for 10 minutes: the redelivery adopts every region's
 * version at once instead, well within this test's own minute.
 */
let workDir: string;
let cloud: RegionalCloud;
let servers: LoopbackServer[] = [];
let env: Record<string, string>;
let secondRegionCreated!: Promise<void>;
let onSecondRegionCreated: () => void;
let holdBeijingCreate = false;
let release: () => void;
const held = new Promise<void>((resolve) => (release = resolve));

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'region-kill-'));
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', workDir]);
  cloud = createRegionalCloud();
  const beijing = cloud.region('cn-beijing');
  const beijingFc = async (request: Request): Promise<Response> => {
    const isCreate = request.method === 'POST' && /\/layers\/[^/]+\/versions$/.test(new URL(request.url).pathname);
    const response = await beijing.fc.handle(request);
    if (isCreate && holdBeijingCreate) {
      holdBeijingCreate = false;
      onSecondRegionCreated();
      await held;
    }
    return response;
  };
  const shanghai = cloud.region('cn-shanghai');
  servers = await Promise.all([
    serve(cloud.home.oss.handle),
    serve(cloud.home.fc.handle),
    serve(shanghai.oss.handle),
    serve(shanghai.fc.handle),
    serve(beijing.oss.handle),
    serve(beijingFc),
  ]);
  const [homeOss, homeFc, shOss, shFc, bjOss, bjFc] = servers.map((server) => server.url);
  env = {
    OSS_ENDPOINT: homeOss!,
    FC_ENDPOINT: homeFc!,
    REGIONS: cloud.regionsEnv,
    REGION_OSS_ENDPOINTS: `cn-shanghai=${shOss},cn-beijing=${bjOss}`,
    REGION_FC_ENDPOINTS: `cn-shanghai=${shFc},cn-beijing=${bjFc}`,
  };
}, 60_000);

afterAll(async () => {
  release();
  await Promise.all(servers.map((server) => server.close()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function runChild(event: unknown, requestId: string, timeoutSeconds: number): BundleProcess {
  return spawnHandler(workDir, { event: { events: [event] }, context: { ...testContext(requestId), function: { timeout: timeoutSeconds } }, env });
}

/** Resolves once `check` holds, looking every 50 ms. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('a crash after the second region created its version', () => {
  it.each([6, 600])(
    'a function of %i s: exactly one version per region once the event is delivered again, and a complete result',
    async (timeoutSeconds) => {
      const layerName = `left-pad-${timeoutSeconds}`;
      const stem = `layers/${layerName}`;
      const zip = nodejsLayerZip(layerName);
      await cloud.home.oss.putObject(TEST_BUCKET, `${stem}.zip`, zip);
      await cloud.home.oss.putObject(TEST_BUCKET, `${stem}.layer.json`, manifestBytes({ ...NODE_MANIFEST, layerName }));
      const event = await cloud.home.oss.objectCreatedEvent(TEST_BUCKET, `${stem}.zip`);
      secondRegionCreated = new Promise((resolve) => (onSecondRegionCreated = resolve));
      holdBeijingCreate = true;

      const first = runChild(event, `req-killed-${timeoutSeconds}`, timeoutSeconds);
      const everyRegionCreated = secondRegionCreated.then(() =>
        until(() => [cloud.home, ...cloud.regions].every((region) => region.fc.versions(layerName).length === 1)),
      );
      await Promise.race([
        everyRegionCreated,
        first.done.then((run) => Promise.reject(new Error(`ended before the Beijing create: ${run.stdout} ${run.stderr}`))),
      ]);
      first.child.kill('SIGKILL');
      expect((await first.done).signal).toBe('SIGKILL');

      const second = await runChild(event, `req-redelivered-${timeoutSeconds}`, 60).done;

      expect(second.answer?.rejected).toBeUndefined();
      expect(second.answer?.summary).toEqual([{ key: `${stem}.zip`, status: 'published', layerName, version: 1 }]);
      const crc64 = independentCrc64(zip);
      expect(cloud.home.fc.versions(layerName).map((version) => version.codeChecksum)).toEqual([crc64]);
      for (const other of cloud.regions) expect(other.fc.versions(layerName).map((version) => version.codeChecksum)).toEqual([crc64]);
      const result = JSON.parse(Buffer.from((await cloud.home.oss.readObject(TEST_BUCKET, `${stem}.result.json`))!).toString()) as PublishResult;
      expect(Object.entries(result.regions!).map(([region, entry]) => [region, entry.status, entry.version, entry.codeChecksum])).toEqual([
        ['cn-hangzhou', 'published', 1, crc64],
        ['cn-shanghai', 'published', 1, crc64],
        ['cn-beijing', 'published', 1, crc64],
      ]);
      // Every region's version was adopted, not made again: one create reached each.
      for (const region of [cloud.home, ...cloud.regions]) {
        expect(region.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion' && request.path.includes(`/${layerName}/`))).toHaveLength(
          1,
        );
      }
    },
    60_000,
  );
});
