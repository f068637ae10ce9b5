import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/console/io';
import { loadConfig } from '../../src/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import { checkNoRegionVariables, cliRegionAssignments, planRegions, regionVariables } from '../../src/local/regions';
import { otherRegions } from '../../src/cli/fc';
import { parseRegionsFlag } from '../../src/console/regions-flag';
import { FC_REGION_IDS } from '../../src/regions/fc-region-ids';
import { handledEvents, isFailure, summaryTable } from '../../src/local/report';
import type { OssEventRecord } from '../../src/emulator';
import { runCli } from '../../src/cli/run';
import { type LocalRegion, type LocalStack, PortInUseError, startLocalStack } from '../../src/local/stack';
import type { PublishResult } from '../../src/publish/result';
import { independentCrc64 } from '../support/independent';
import { ensureBundles, HANDLER_BUNDLE, HOST_SCRIPT } from './bundles';
import { createLayerVersionFromOss, listLayerVersions } from './lifecycle-sdk';
import { LOCAL_BUCKET as BUCKET, npmStart, readJson, settledResult, useLocalStacks } from './stack-harness';

const home = { bucket: BUCKET, dataDir: '/data', ossPort: 9000 };
const stacks = useLocalStacks();

/** ali-oss V4 for a region's staging bucket, signing for `signingRegion` (the bucket's own by default). */
function regionClient(region: LocalRegion, signingRegion = region.region): OSS {
  return new OSS({
    endpoint: region.ossUrl,
    bucket: region.bucket,
    region: `oss-${signingRegion}`,
    ...LOCAL_CREDENTIALS,
    authorizationV4: true,
  } as OSS.Options);
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as Error).message;
  }
  throw new Error('expected a CliError');
}

describe('npm start --regions: the flag', () => {
  it('takes region ids in the order written, spaces around them ignored', () => {
    expect(parseRegionsFlag('cn-shanghai, cn-beijing ,ap-southeast-1', LOCAL_REGION)).toEqual(['cn-shanghai', 'cn-beijing', 'ap-southeast-1']);
    expect(parseRegionsFlag('cn-shanghai-finance-1', LOCAL_REGION)).toEqual(['cn-shanghai-finance-1']);
  });

  it('refuses an empty list, an empty entry, a bad id, the home region and a duplicate, naming the entry', () => {
    const cases: [string, string][] = [
      ['', '--regions is empty: name the other regions to publish to, e.g. --regions cn-shanghai,cn-beijing'],
      [' ', '--regions is empty: name the other regions to publish to, e.g. --regions cn-shanghai,cn-beijing'],
      ['cn-shanghai,,cn-beijing', '--regions entry 2 is empty: remove the extra comma (e.g. --regions cn-shanghai,cn-beijing)'],
      ['cn-shanghai,', '--regions entry 2 is empty: remove the extra comma (e.g. --regions cn-shanghai,cn-beijing)'],
      ['oss-cn-shanghai', '--regions entry 1 ("oss-cn-shanghai") is not a region id such as cn-shanghai (without the oss- prefix: cn-shanghai)'],
      ['cn-shanghai,Cn-Beijing', '--regions entry 2 ("Cn-Beijing") is not a region id such as cn-shanghai'],
      ['cn-shanghai cn-beijing', '--regions entry 1 ("cn-shanghai cn-beijing") is not a region id such as cn-shanghai'],
      [
        'cn-shanghai,cn-hangzhou',
        '--regions entry 2 ("cn-hangzhou") is the home region: the home bucket is in cn-hangzhou, which is always published; name only the other regions',
      ],
      ['cn-shanghai,cn-beijing,cn-shanghai', '--regions entry 3 ("cn-shanghai") names cn-shanghai again (entry 1): each region once'],
      ['cn-shangai', '--regions entry 1 ("cn-shangai") is not a region Function Compute serves; did you mean cn-shanghai?'],
      ['cn-beijing,eu-centrl-1', '--regions entry 2 ("eu-centrl-1") is not a region Function Compute serves; did you mean eu-central-1?'],
      ['xx-nowhere-9', `--regions entry 1 ("xx-nowhere-9") is not a region Function Compute serves (regions: ${FC_REGION_IDS.join(', ')})`],
    ];
    for (const [raw, message] of cases)
      expect(
        refusal(() => parseRegionsFlag(raw, LOCAL_REGION)),
        raw,
      ).toBe(message);
  });

  it('refuses REGIONS and the region endpoints from the shell: they would send the local handler to the cloud', () => {
    expect(() => checkNoRegionVariables({ REGIONS: '  ', PATH: '/bin' })).not.toThrow();
    expect(refusal(() => checkNoRegionVariables({ REGION_FC_ENDPOINTS: 'cn-shanghai=http://127.0.0.1:1' }))).toBe(
      'REGION_FC_ENDPOINTS is set, but npm start serves its regions itself: unset it and name the regions with --regions (e.g. --regions cn-shanghai,cn-beijing)',
    );
  });
});

describe('npm start --once: the summary of an upload a region refused', () => {
  it('says which regions failed beside the home status, and counts as a failure', () => {
    const record = (JSON.parse(readFileSync(new URL('../events/fixtures/put-zip.json', import.meta.url), 'utf8')) as { events: OssEventRecord[] }).events[0]!;
    const outcome = (regionsFailed?: string[]) =>
      handledEvents(
        record,
        {
          kind: 'done',
          requestId: 'r',
          peakRssBytes: 0,
          summary: [{ key: record.oss.object.key, status: 'published', layerName: 'pillow-10', version: 3, ...(regionsFailed ? { regionsFailed } : {}) }],
        },
        40,
      );
    const partial = outcome(['cn-beijing', 'cn-shanghai']);
    expect(partial.map(isFailure)).toEqual([true]);
    expect(summaryTable(partial).split('\n')[2]).toMatch(
      /^layers\/pillow-10\.zip +pillow-10 +3 +published, failed in cn-beijing, cn-shanghai +1\.0 MiB +40 ms$/,
    );
    expect(outcome().map(isFailure)).toEqual([false]);
  });
});

describe('npm start --regions: what each region gets', () => {
  it('a staging bucket <bucket>-<region>, a data folder under <data>/regions/, ports from --port by tens', () => {
    expect(planRegions(['cn-shanghai', 'cn-beijing'], home)).toEqual([
      { region: 'cn-shanghai', bucket: 'local-layers-cn-shanghai', dataDir: join('/data', 'regions', 'cn-shanghai'), ossPort: 9010, fcPort: 9011 },
      { region: 'cn-beijing', bucket: 'local-layers-cn-beijing', dataDir: join('/data', 'regions', 'cn-beijing'), ossPort: 9020, fcPort: 9021 },
    ]);
    expect(planRegions(['cn-shanghai'], { ...home, ossPort: 0 })).toMatchObject([{ ossPort: 0, fcPort: 0 }]);
    expect(planRegions([], { ...home, bucket: 'regions' })).toEqual([]);
  });

  it('refuses a staging bucket name OSS would refuse, a port past 65535, and a home bucket named like the regions folder', () => {
    const long = 'a'.repeat(52);
    expect(refusal(() => planRegions(['cn-shanghai'], { ...home, bucket: long }))).toBe(
      `--regions entry 1 ("cn-shanghai"): its staging bucket "${long}-cn-shanghai" would be longer than 63 characters; choose a shorter --bucket`,
    );
    expect(refusal(() => planRegions(['cn-shanghai', 'cn-beijing'], { ...home, ossPort: 65520 }))).toBe(
      '--regions entry 2 ("cn-beijing") would listen on port 65540 (--port + 20), past 65535; choose a lower --port',
    );
    expect(refusal(() => planRegions(['cn-shanghai'], { ...home, bucket: 'regions' }))).toMatch(/^--bucket regions cannot be used with --regions: /);
  });

  it('hands the handler REGIONS and endpoints the function’s own configuration reads back', () => {
    const variables = regionVariables([
      { region: 'cn-shanghai', bucket: 'local-layers-cn-shanghai', ossUrl: 'http://127.0.0.1:9010', fcUrl: 'http://127.0.0.1:9011' },
      { region: 'cn-beijing', bucket: 'local-layers-cn-beijing', ossUrl: 'http://127.0.0.1:9020', fcUrl: 'http://127.0.0.1:9021' },
    ]);
    const { regions } = loadConfig(variables);
    expect(regions.map(({ region, bucket, ossEndpoint, fcEndpoint }) => [region, bucket, ossEndpoint?.host, fcEndpoint?.host])).toEqual([
      ['cn-shanghai', 'local-layers-cn-shanghai', '127.0.0.1:9010', '127.0.0.1:9011'],
      ['cn-beijing', 'local-layers-cn-beijing', '127.0.0.1:9020', '127.0.0.1:9021'],
    ]);
    // None: empty values, which the function reads as unset whatever the shell had.
    expect(loadConfig(regionVariables([])).regions).toEqual([]);
  });

  it('prints the assignments that send the CLI’s function commands to the same regions', () => {
    const line = cliRegionAssignments([
      { region: 'cn-shanghai', bucket: 'local-layers-cn-shanghai', ossUrl: 'http://127.0.0.1:9010', fcUrl: 'http://127.0.0.1:9011' },
      { region: 'cn-beijing', bucket: 'local-layers-cn-beijing', ossUrl: 'http://127.0.0.1:9020', fcUrl: 'http://127.0.0.1:9021' },
    ]);
    // As the shell reads `export <line>`: words split on spaces, each NAME=value.
    const env = Object.fromEntries(line.split(' ').map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]));
    expect(Object.keys(env)).toEqual(['REGIONS', 'REGION_FC_ENDPOINTS']);
    expect(otherRegions(env).map(({ region, fcEndpoint }) => [region, fcEndpoint?.host])).toEqual([
      ['cn-shanghai', '127.0.0.1:9011'],
      ['cn-beijing', '127.0.0.1:9021'],
    ]);
  });
});

/** The server listening on 127.0.0.1:`port`, or undefined when it is taken. */
async function listenOn(port: number): Promise<ReturnType<typeof createServer> | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A port held by this test, below the kernel's ephemeral range (32768 and up on Linux), with the
 * stack's other ports 20 and 10 below it free: the parallel tests' port-0 servers and client
 * sockets take only ephemeral ports, so they cannot take the ports npm start is expected to open.
 */
async function takeBelowEphemeralRange(): Promise<{ taken: ReturnType<typeof createServer>; port: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 21_000 + Math.floor(Math.random() * 11_000);
    const probes = await Promise.all([port - 20, port - 19, port - 10, port - 9].map(listenOn));
    await Promise.all(probes.map((probe) => probe && new Promise((resolve) => probe.close(resolve))));
    if (probes.some((probe) => probe === undefined)) continue;
    const taken = await listenOn(port);
    if (taken !== undefined) return { taken, port };
  }
  throw new Error('no free run of ports between 20980 and 32000');
}

describe('npm start --regions: the stack, its ports and mistakes', () => {
  beforeAll(ensureBundles, 120_000);

  it('each region is its own OSS (V4 for its region only) and its own FC reading it; both keep their data across a restart', async () => {
    const first = await stacks.start(undefined, 200, { regions: ['cn-shanghai', 'cn-beijing'] });
    const [shanghai, beijing] = first.stack.regions as [LocalRegion, LocalRegion];
    expect([shanghai.bucketFolder, beijing.bucketFolder]).toEqual([
      join(first.dataDir, 'regions', 'cn-shanghai', `${BUCKET}-cn-shanghai`),
      join(first.dataDir, 'regions', 'cn-beijing', `${BUCKET}-cn-beijing`),
    ]);
    expect(new Set([first.stack.ossUrl, first.stack.fcUrl, shanghai.ossUrl, shanghai.fcUrl, beijing.ossUrl, beijing.fcUrl]).size).toBe(6);
    const zip = Buffer.from(zipSync({ 'nodejs/node_modules/geo/index.js': Buffer.from('module.exports = "sh"') }));
    const put = await regionClient(shanghai).put('staged/geo.zip.staged', zip);
    expect((put.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(independentCrc64(zip));
    // Signed for the home region, the staging bucket refuses it, as OSS does a scope of another region.
    await expect(regionClient(shanghai, LOCAL_REGION).put('staged/other.zip.staged', zip)).rejects.toMatchObject({ status: 400 });
    await expect(regionClient(beijing).head('staged/geo.zip.staged')).rejects.toMatchObject({ status: 404 });

    const created = await createLayerVersionFromOss(shanghai.fcUrl, 'cn-shanghai', 'geo', shanghai.bucket, 'staged/geo.zip.staged');
    // FC keeps its copy of the code in its own region's OSS.
    expect(created).toMatchObject({
      version: 1,
      codeChecksum: independentCrc64(zip),
      code: { location: expect.stringContaining('.oss-cn-shanghai.aliyuncs.com/') },
    });
    // Beijing's FC reads Beijing's OSS only: the object is not there.
    await expect(createLayerVersionFromOss(beijing.fcUrl, 'cn-beijing', 'geo', shanghai.bucket, 'staged/geo.zip.staged')).rejects.toThrow();
    expect(await listLayerVersions(beijing.fcUrl, 'cn-beijing', 'geo')).toEqual([]);
    expect(await listLayerVersions(first.stack.fcUrl, LOCAL_REGION, 'geo')).toEqual([]);

    const dataDir = first.dataDir;
    await stacks.release(first);
    // The home data stays where it was; each region's is in its own folder.
    expect(await readJson<{ layers: { layerName: string }[] }>(join(dataDir, 'regions', 'cn-shanghai', 'layers.json'))).toMatchObject({
      layers: [{ layerName: 'geo' }],
    });
    const second = await stacks.start(dataDir, 200, { regions: ['cn-shanghai', 'cn-beijing'] });
    const again = second.stack.regions[0]!;
    expect(await listLayerVersions(again.fcUrl, 'cn-shanghai', 'geo')).toMatchObject([{ version: 1, codeChecksum: independentCrc64(zip) }]);
    expect((await regionClient(again).head('staged/geo.zip.staged')).status).toBe(200);
  });

  it('a region port in use: PortInUseError naming the region and --port; npm start exits 7 saying so', async () => {
    const { taken, port } = await takeBelowEphemeralRange();
    const dataDir = await mkdtemp(join(tmpdir(), 'local-regions-'));
    try {
      const regions = [{ region: 'cn-shanghai', bucket: `${BUCKET}-cn-shanghai`, dataDir: join(dataDir, 'regions', 'cn-shanghai'), ossPort: 0, fcPort: port }];
      const stack = startLocalStack({
        dataDir,
        bucket: BUCKET,
        ossPort: 0,
        fcPort: 0,
        regions,
        handlerBundle: HANDLER_BUNDLE,
        hostScript: HOST_SCRIPT,
        onEvent: () => {},
      });
      await expect(stack).rejects.toThrow(PortInUseError);
      await expect(stack).rejects.toThrow(
        `port ${port} for the local Function Compute of cn-shanghai is already in use (is another npm start running?); choose another with --port (region 1 of --regions listens on --port + 10 and the port after)`,
      );
      // Region 2 listens on --port + 20: the taken port, when --port is 20 below it.
      const { code, out, err } = await npmStart(['--once', '--port', String(port - 20), '--data', dataDir, '--regions', 'cn-shanghai,cn-beijing']);
      expect({ code, out }).toEqual({ code: 7, out: '' });
      expect(err).toBe(
        `npm start: port ${port} for the local OSS of cn-beijing is already in use (is another npm start running?); choose another with --port (region 2 of --regions listens on --port + 20 and the port after)\n`,
      );
    } finally {
      taken.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a bad --regions or REGIONS in the shell: exit 2, one line naming the entry or variable', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--regions', 'cn-shanghai,cn-hangzhou'], {}, '--regions entry 2 ("cn-hangzhou") is the home region'],
      [['--regions='], {}, '--regions is empty'],
      [['--regions', 'cn-shanghai,cn-shanghai'], {}, '--regions entry 2 ("cn-shanghai") names cn-shanghai again (entry 1)'],
      [['--once'], { REGIONS: 'cn-shanghai=team-layers-sh' }, 'REGIONS is set, but npm start serves its regions itself'],
    ];
    for (const [args, env, start] of cases) {
      const { code, out, err } = await npmStart(['--port', '0', ...args], env);
      expect({ code, out }, args.join(' ')).toEqual({ code: 2, out: '' });
      expect(err.startsWith(`npm start: ${start}`), err).toBe(true);
      expect(err.endsWith(' (see npm start -- --help)\n') && err.indexOf('\n') === err.length - 1, err).toBe(true);
    }
  });
});

describe('npm start --regions: one upload, every region', () => {
  beforeAll(ensureBundles, 120_000);

  const homeClient = (stack: LocalStack): OSS =>
    new OSS({ endpoint: stack.ossUrl, bucket: BUCKET, region: `oss-${LOCAL_REGION}`, ...LOCAL_CREDENTIALS, authorizationV4: true } as OSS.Options);

  /** Uploads a layer with ali-oss V4 as a user would, manifest then zip, and waits for its result. */
  async function upload(stack: LocalStack, layerName: string, zip: Buffer) {
    const client = homeClient(stack);
    await client.put(`layers/${layerName}.layer.json`, Buffer.from(JSON.stringify({ layerName, compatibleRuntime: ['nodejs20'] })));
    await client.put(`layers/${layerName}.zip`, zip);
    await stack.idle();
    return settledResult(join(stack.bucketFolder, 'layers', `${layerName}.result.json`));
  }

  async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runCli(argv, { out: (text) => void (out += text), err: (text) => void (out += text), env: {}, interactive: false });
    return { code, out };
  }

  it('publishes one version in each of the three regions, all with the zip’s CRC-64; results shows the three', async () => {
    const { stack } = await stacks.start(undefined, 200, { regions: ['cn-shanghai', 'cn-beijing'] });
    await stack.idle();
    const zip = Buffer.from(zipSync({ 'nodejs/node_modules/geo/index.js': Buffer.from('module.exports = "every region"') }));
    const crc = independentCrc64(zip);
    const result = await upload(stack, 'geo', zip);

    expect(result).toMatchObject({ status: 'published', version: 1, source: { crc64: crc } });
    expect(Object.keys(result.regions ?? {}).sort()).toEqual(['cn-beijing', 'cn-hangzhou', 'cn-shanghai']);
    expect(result.regions?.[LOCAL_REGION]).toMatchObject({ status: 'published', home: true, version: 1, codeChecksum: crc });
    for (const region of stack.regions) {
      const entry = result.regions?.[region.region];
      expect(entry, region.region).toMatchObject({ status: 'published', version: 1, codeChecksum: crc, staged: { bucket: region.bucket, reused: false } });
      expect(entry?.home).toBeUndefined();
      // The staged copy lies in that region's own bucket, with the zip's bytes.
      const staged = await regionClient(region).head(entry!.staged!.key);
      expect((staged.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(crc);
    }
    // Each region's FC, asked with the official SDK, holds exactly one version, of these bytes.
    for (const [fcUrl, region] of [[stack.fcUrl, LOCAL_REGION], ...stack.regions.map((r) => [r.fcUrl, r.region])] as [string, string][]) {
      expect(await listLayerVersions(fcUrl, region, 'geo'), region).toEqual([{ version: 1, codeChecksum: crc }]);
    }

    const shown = await cli('results', '--bucket', BUCKET, '--endpoint', stack.ossUrl, '--prefix', 'layers/geo');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^geo +cn-hangzhou \(home\) +published +1 /m);
    expect(shown.out).toMatch(/^ +cn-shanghai +published +1 /m);
    expect(shown.out).toMatch(/^ +cn-beijing +published +1 /m);
    // The audit trail has a record per region, each naming its region.
    for (const region of ['cn-shanghai', 'cn-beijing']) expect(shown.out).toMatch(new RegExp(`^audit +geo +${region} +1 +published `, 'm'));
    const trail = await cli('audit', '--bucket', BUCKET, '--endpoint', stack.ossUrl, '--layer', 'geo');
    expect(trail.code).toBe(0);
    expect(trail.out.split('\n')[0]).toMatch(/^when +layer +region +version +status /);
    for (const region of ['home', 'cn-shanghai', 'cn-beijing']) expect(trail.out).toMatch(new RegExp(`^\\S+ +geo +${region} +1 +published`, 'm'));
  }, 120_000);

  it('a region failing for now: the handler rejects, the stack delivers the event again, and that delivery publishes only what was missing', async () => {
    let beijing: LocalRegion | undefined;
    // Beijing's FC is back once the first invocation has been rejected: the redelivery finds it.
    const run = await stacks.start(undefined, 200, {
      regions: ['cn-shanghai', 'cn-beijing'],
      onEvent: (event) => {
        if (event.kind === 'outcome' && event.redeliveryInMs !== undefined) beijing?.fc.faults.clear();
      },
    });
    const { stack } = run;
    await stack.idle();
    beijing = stack.regions[1]!;
    beijing.fc.faults.inject({ match: (target) => target.action === 'CreateLayerVersion', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const zip = Buffer.from(zipSync({ 'nodejs/node_modules/flaky/index.js': Buffer.from('module.exports = 1') }));
    const crc = independentCrc64(zip);
    await homeClient(stack).put('layers/flaky.layer.json', Buffer.from(JSON.stringify({ layerName: 'flaky', compatibleRuntime: ['nodejs20'] })));
    // The manifest's event finds no zip yet (waiting): the zip's event is the one that publishes.
    await stack.idle();
    await homeClient(stack).put('layers/flaky.zip', zip);
    await stack.idle();

    const zipEvents = run.events.flatMap((event) => {
      if ((event.kind !== 'invoke' && event.kind !== 'outcome') || event.record.oss.object.key !== 'layers/flaky.zip') return [];
      return [event.kind === 'invoke' ? `invoke ${event.attempt}` : `${event.outcome.kind}${event.redeliveryInMs === undefined ? '' : ' again'}`];
    });
    expect(zipEvents).toEqual(['invoke 1', 'rejected again', 'invoke 2', 'done']);
    const result = await readJson<PublishResult>(join(stack.bucketFolder, 'layers', 'flaky.result.json'));
    for (const region of ['cn-hangzhou', 'cn-shanghai', 'cn-beijing'])
      expect(result.regions?.[region], region).toMatchObject({ status: 'published', version: 1, codeChecksum: crc });
    // One version in every region: the redelivery made Beijing's and none again elsewhere.
    for (const [fcUrl, region] of [[stack.fcUrl, LOCAL_REGION], ...stack.regions.map((r) => [r.fcUrl, r.region])] as [string, string][]) {
      expect(await listLayerVersions(fcUrl, region, 'flaky'), region).toEqual([{ version: 1, codeChecksum: crc }]);
    }
  }, 120_000);

  it('one region refusing for good: the others published, the result and --once say which region failed and why', async () => {
    const run = await stacks.start(undefined, 200, { regions: ['cn-shanghai', 'cn-beijing'] });
    const { stack } = run;
    await stack.idle();
    const beijing = stack.regions[1]!;
    beijing.fc.faults.inject({
      match: (target) => target.action === 'CreateLayerVersion',
      status: 400,
      code: 'LayerQuotaExceeded',
      message: 'the layer has too many versions',
      times: Infinity,
    });
    const zip = Buffer.from(zipSync({ 'nodejs/node_modules/quota/index.js': Buffer.from('module.exports = 1') }));
    const result = await upload(stack, 'quota', zip);

    expect(result.status).toBe('published');
    expect(result.regions?.['cn-shanghai']).toMatchObject({ status: 'published', version: 1, codeChecksum: independentCrc64(zip) });
    expect(result.regions?.['cn-beijing']).toMatchObject({
      status: 'failed',
      error: { code: 'FcRejected', retryable: false, message: expect.stringMatching(/^cn-beijing: .*LayerQuotaExceeded/) },
    });
    expect(await listLayerVersions(beijing.fcUrl, 'cn-beijing', 'quota')).toEqual([]);
    const describedFailure = run.events.some((event) => event.kind === 'log' && JSON.parse(event.line).step === 'region.failed');
    expect(describedFailure).toBe(true);

    const shown = await cli('results', '--bucket', BUCKET, '--endpoint', stack.ossUrl, '--prefix', 'layers/quota');
    expect(shown.code).toBe(1);
    expect(shown.out).toMatch(/^ +cn-beijing +failed +- +- +FcRejected: cn-beijing: .*LayerQuotaExceeded/m);

    // A later `npm start --once` on the same data still reports the layer as failed, naming the region.
    const { dataDir } = run;
    await stacks.release(run);
    const again = await npmStart(['--once', '--port', '0', '--data', dataDir, '--regions', 'cn-shanghai,cn-beijing']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/layers\/quota\.result\.json +quota +\S+ +FcRejected: cn-beijing: /);
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);
});
