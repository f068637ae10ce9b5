import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { type LoopbackServer, createOssEmulator, serve } from '../../src/emulator';
import { LOCAL_CREDENTIALS } from '../../src/console/local-account';

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runWith({}, ...argv);
}

async function runWith(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t), env, interactive: false });
  return { code, out, err };
}

/** The whole of what was printed, which must be one line: no stack, no dump. */
function oneLine(text: string): string {
  expect(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `one line expected, got:\n${text}`).toBe(true);
  return text;
}

async function layer(stem: string, files: Record<string, string>, manifest: unknown): Promise<string> {
  await writeFile(join(dir, `${stem}.zip`), zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, Buffer.from(t)]))));
  await writeFile(join(dir, `${stem}.layer.json`), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return join(dir, `${stem}.zip`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('layer-publisher check', () => {
  it('accepts a good layer: exit 0, the CRC-64 and the manifest in --json', async () => {
    const zip = await layer('good', { 'nodejs/node_modules/a/index.js': 'x' }, { layerName: 'good', compatibleRuntime: ['nodejs20'] });
    const { code, out } = await run('check', zip, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      ok: true,
      zip: { entries: 1, crc64: expect.stringMatching(/^\d+$/) },
      manifest: { layerName: 'good' },
      problems: [],
    });
    expect((await run('check', zip)).out).toContain('ok: the function would accept this layer');
  });

  it('names the field of a bad manifest and the layout mistake: exit 1', async () => {
    const zip = await layer('bad', { 'node_modules/a/index.js': 'x' }, { layerName: 'bad', compatibleRuntime: ['nodjs20'] });
    const { code, out } = await run('check', zip, '--json');
    expect(code).toBe(1);
    const report = JSON.parse(out) as { problems: { code: string; message: string }[] };
    expect(report.problems.map((p) => p.code)).toEqual(['ManifestInvalid']);
    expect(report.problems[0]!.message).toContain('compatibleRuntime[0]');

    const flat = await layer('flat', { 'node_modules/a/index.js': 'x' }, { layerName: 'flat', compatibleRuntime: ['nodejs20'] });
    const layout = await run('check', flat, '--json');
    expect(layout.code).toBe(1);
    expect(JSON.parse(layout.out).problems).toMatchObject([{ code: 'ZipLayoutInvalid', message: expect.stringContaining('nodejs/node_modules/') }]);
  });

  it('refuses a file that is not a zip, with --manifest naming the manifest', async () => {
    await writeFile(join(dir, 'text.zip'), 'not a zip at all');
    const manifest = join(dir, 'good.layer.json');
    const { code, out } = await run('check', join(dir, 'text.zip'), '--manifest', manifest, '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, problems: [{ code: 'ZipInvalid' }], manifest: { path: manifest } });
  });

  it('exits 2 naming the missing zip (not its manifest), the unknown flag or the missing argument', async () => {
    const missing = await run('check', join(dir, 'nothing.zip'));
    expect(missing.code).toBe(2);
    expect(oneLine(missing.err)).toContain(`${join(dir, 'nothing.zip')}: no such file`);
    expect(missing.err).not.toContain('layer.json');
    const unknown = await run('check', join(dir, 'good.zip'), '--bogus');
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown.err)).toContain('unknown flag --bogus (flags: --json, --wide, --help, --manifest, --regions, --region)');
    expect((await run('check')).code).toBe(2);
  });
});

describe('layer-publisher check, told the publisher\u2019s regions', () => {
  const withRegions = (regions: unknown) =>
    layer('regional', { 'nodejs/node_modules/a/index.js': 'x' }, { layerName: 'regional', compatibleRuntime: ['nodejs20'], regions });

  it('refuses a manifest naming a region the publisher does not publish to, as the function would: --regions or REGIONS', async () => {
    const zip = await withRegions(['cn-shanghai', 'cn-beijing']);
    const flag = await run('check', zip, '--regions', 'cn-shanghai', '--json');
    expect(flag.code).toBe(1);
    expect(JSON.parse(flag.out).problems).toEqual([
      {
        code: 'ManifestInvalid',
        message: `manifest ${zip.replace(/\.zip$/, '.layer.json')}: regions names cn-beijing, which this publisher does not publish to (REGIONS configures cn-shanghai; the home region is cn-hangzhou). A manifest can narrow REGIONS, not widen it`,
      },
    ]);
    const variable = await runWith({ REGIONS: 'cn-shanghai=team-sh' }, 'check', zip);
    expect(variable.code).toBe(1);
    expect(variable.out).toContain('error     ManifestInvalid: manifest');
    expect((await runWith({ REGIONS: 'cn-shanghai=team-sh,cn-beijing=team-bj' }, 'check', zip)).code).toBe(0);
    expect((await run('check', zip, '--regions', 'cn-beijing,cn-shanghai')).code).toBe(0);
  });

  it('takes the home region from --region: a manifest may name it', async () => {
    const zip = await withRegions(['cn-beijing']);
    expect((await run('check', zip, '--regions', 'cn-shanghai')).code).toBe(1);
    expect((await run('check', zip, '--regions', 'cn-shanghai', '--region', 'cn-beijing')).code).toBe(0);
  });

  it('without --regions or REGIONS, it cannot know the publisher\u2019s regions and checks none; a mistyped region is a usage error', async () => {
    const zip = await withRegions(['cn-beijing']);
    expect((await run('check', zip)).code).toBe(0);
    const typo = await run('check', zip, '--regions', 'cn-shangai');
    expect(typo.code).toBe(2);
    expect(oneLine(typo.err)).toContain('--regions entry 1 ("cn-shangai") is not a region Function Compute serves; did you mean cn-shanghai?');
    const home = await runWith({ REGIONS: 'cn-hangzhou=team-hz' }, 'check', zip);
    expect(home.code).toBe(2);
    expect(oneLine(home.err)).toContain('names cn-hangzhou, the region of this function and its trigger');
  });
});

describe('layer-publisher commands and help', () => {
  it('prints help for every command with exit 0, and usage with exit 2 for an unknown one', async () => {
    for (const command of ['check', 'publish', 'results', 'diff', 'consumers', 'promote', 'rollback']) {
      const { code, out } = await run(command, '--help');
      expect(code).toBe(0);
      expect(out).toContain(`Usage: layer-publisher ${command}`);
    }
    expect((await run('--help')).code).toBe(0);
    const unknown = await run('deploy');
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown.err)).toContain(
      'unknown command "deploy" (commands: check, publish, results, audit, verify, report, diff, latest, consumers, promote, rollback)',
    );
    const typo = await run('publsh', 'a.zip');
    expect(typo.code).toBe(2);
    expect(oneLine(typo.err)).toContain('unknown command "publsh"; did you mean publish?');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(await run('--version')).toEqual({ code: 0, out: `layer-publisher ${version}\n`, err: '' });
  });

  it('suggests the flag meant when one is a small edit away, and only then', async () => {
    const swapped = await run('publish', 'a.zip', '--bukcet', 'b');
    expect(swapped.code).toBe(2);
    expect(oneLine(swapped.err)).toContain('unknown flag --bukcet; did you mean --bucket?');
    const missingLetter = await run('results', '--prefx=layers/');
    expect(oneLine(missingLetter.err)).toContain('unknown flag --prefx; did you mean --prefix?');
    const noValue = await run('results', '--bucket');
    expect(noValue.code).toBe(2);
    expect(oneLine(noValue.err)).toContain("'--bucket <value>' argument missing");
    const unrelated = await run('results', '--zone', 'x');
    expect(unrelated.code).toBe(2);
    expect(oneLine(unrelated.err)).not.toContain('did you mean');
  });

  it('refuses a bucket name OSS would refuse, and a region that is not one, naming the flag', async () => {
    for (const bucket of ['Bad_Name', 'ab', '-leading', 'a'.repeat(64)]) {
      const { code, err } = await run('results', `--bucket=${bucket}`, '--endpoint', 'http://127.0.0.1:9');
      expect(code).toBe(2);
      expect(oneLine(err)).toContain(`--bucket ${JSON.stringify(bucket)} is not a valid bucket name`);
    }
    const region = await run('results', '--bucket', 'my-bucket', '--region', 'cn hangzhou');
    expect(region.code).toBe(2);
    expect(oneLine(region.err)).toContain('--region "cn hangzhou"');
  });

  it('publish and results need --bucket and credentials, and say so', async () => {
    const zip = join(dir, 'good.zip');
    const noBucket = await run('publish', zip);
    expect(noBucket.code).toBe(2);
    expect(noBucket.err).toContain('--bucket is required');
    const noCredentials = await run('results', '--bucket', 'my-bucket', '--region', 'cn-hangzhou');
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.err).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    const badEndpoint = await run('results', '--bucket', 'my-bucket', '--endpoint', 'nowhere');
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.err).toContain('--endpoint');
  });

  it('publish refuses a bad layer before uploading anything: exit 1', async () => {
    const { code, out } = await run('publish', join(dir, 'bad.zip'), '--bucket', 'my-bucket', '--endpoint', 'http://127.0.0.1:9', '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ status: 'refused', check: { problems: [{ code: 'ManifestInvalid' }] } });
  });
});

describe('layer-publisher against an OSS that refuses or is not there', () => {
  let oss: LoopbackServer;
  let closedPort: string;

  beforeAll(async () => {
    const emulator = createOssEmulator({ accountId: '1000000000000001', region: 'cn-hangzhou', credentials: [LOCAL_CREDENTIALS], buckets: ['real-bucket'] });
    oss = await serve(emulator.handle, { port: 0, host: '127.0.0.1' });
    // A port that was just free: nothing listens there.
    const gone = await serve(emulator.handle, { port: 0, host: '127.0.0.1' });
    closedPort = new URL(gone.url).port;
    await gone.close();
  });
  afterAll(() => oss.close());

  it('an unreachable endpoint: exit 4, one line naming the endpoint and bucket, no ali-oss dump', async () => {
    const endpoint = `http://127.0.0.1:${closedPort}`;
    const listing = await run('results', '--bucket', 'real-bucket', '--endpoint', endpoint);
    expect(listing.code).toBe(4);
    expect(oneLine(listing.err)).toBe(
      `layer-publisher results: listing the bucket: cannot reach OSS (bucket real-bucket at ${endpoint}): connect ECONNREFUSED 127.0.0.1:${closedPort}\n`,
    );
    const publishing = await run('publish', join(dir, 'good.zip'), '--bucket', 'real-bucket', '--endpoint', endpoint);
    expect(publishing.code).toBe(4);
    expect(oneLine(publishing.err)).toContain('uploading good.layer.json: cannot reach OSS');
    expect(publishing.err).not.toMatch(/agent status|SocketCount/);
  });

  it('NoSuchBucket: exit 6, naming the bucket and endpoint', async () => {
    const { code, err } = await run('results', '--bucket', 'other-bucket', '--endpoint', oss.url);
    expect(code).toBe(6);
    expect(oneLine(err)).toContain(`no such bucket other-bucket at ${oss.url.replace(/\/$/, '')}; check --bucket`);
  });

  it('credentials OSS does not know: exit 5, naming the variables to check', async () => {
    const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIsomeoneElse', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-the-secret' };
    const { code, err } = await runWith(env, 'results', '--bucket', 'real-bucket', '--endpoint', oss.url);
    expect(code).toBe(5);
    expect(oneLine(err)).toMatch(/access denied by bucket real-bucket at .*: InvalidAccessKeyId: .*check ALIBABA_CLOUD_ACCESS_KEY_ID/);
    expect(err).not.toContain('not-the-secret');
  });

  it('the bucket as it is: exit 0 with the local key', async () => {
    expect(await run('results', '--bucket', 'real-bucket', '--endpoint', oss.url)).toMatchObject({ code: 0, out: 'No results yet.\n' });
  });
});
