/**
 * Every command's --help ends with the exit codes it can end with (exitCodesHelp). This file runs each
 * command into each of those ends and checks the two agree: a code the command gives is stated in its
 * help, and a code its help states is given by one of the scenarios here (or, for the few that need a
 * running publisher, by the test named beside it).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import { type FcEmulator, type LoopbackServer, type OssEmulator, createFcEmulator, createOssEmulator, serve } from '../../src/emulator';

const BUCKET = 'exit-codes';
const COMMANDS = ['check', 'publish', 'results', 'audit', 'verify', 'report'] as const;
type CommandName = (typeof COMMANDS)[number];

/** Codes no scenario here can give without a publisher running, and the test that shows them. */
const COVERED_ELSEWHERE: Partial<Record<CommandName, Record<number, string>>> = {
  publish: { 0: 'test/local/stack.test.ts: layer-publisher publish uploads, waits for the result and exits 0' },
};

let dir: string;
let oss: OssEmulator;
let fc: FcEmulator;
let servers: LoopbackServer[];
let closedPort: number;

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t), env, interactive: false });
  return { code, out, err };
}

/** The codes a help text states on its `Exit codes:` line. */
function statedCodes(help: string): number[] {
  const line = help.split('\n').find((l) => l.startsWith('Exit codes: '));
  expect(line, 'an "Exit codes:" line').toBeDefined();
  return [...line!.slice('Exit codes: '.length).matchAll(/(?:^|, )(\d+) /g)].map((match) => Number(match[1]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exit-codes-'));
  await writeFile(join(dir, 'good.zip'), zipSync({ 'nodejs/node_modules/a/index.js': Buffer.from('x') }));
  await writeFile(join(dir, 'good.layer.json'), JSON.stringify({ layerName: 'good', compatibleRuntime: ['nodejs20'] }));
  await writeFile(join(dir, 'bad.zip'), zipSync({ 'node_modules/a/index.js': Buffer.from('x') }));
  await writeFile(join(dir, 'bad.layer.json'), JSON.stringify({ layerName: 'bad', compatibleRuntime: ['nodejs20'] }));
  const account = { accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS] };
  oss = createOssEmulator({ ...account, buckets: [BUCKET] });
  fc = createFcEmulator({ ...account, readObject: (bucket, key) => oss.readObject(bucket, key) });
  servers = [await serve(oss.handle, { port: 0, host: '127.0.0.1' }), await serve(fc.handle, { port: 0, host: '127.0.0.1' })];
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const result = {
    status: 'failed',
    layerName: 'broken',
    finishedAt: '2026-12-07T03:00:00.000Z',
    error: { code: 'ZipLayoutInvalid', message: 'node_modules/ at the top' },
  };
  await oss.putObject(BUCKET, 'layers/broken.result.json', Buffer.from(JSON.stringify(result)), { contentType: 'application/json' });
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Each command's ends: the arguments (after the command's name), the variables, and the code expected. */
function scenarios(): Record<CommandName, [string, string[], Record<string, string>, number][]> {
  const endpoint = ['--bucket', BUCKET, '--endpoint', servers[0]!.url];
  const unreachable = ['--bucket', BUCKET, '--endpoint', `http://127.0.0.1:${closedPort}`];
  const otherBucket = ['--bucket', 'no-such-bucket', '--endpoint', servers[0]!.url];
  const stranger = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIsomeoneElse', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-the-secret' };
  const fcEndpoint = ['--fc-endpoint', servers[1]!.url];
  const outside = (args: string[]): [string, string[], Record<string, string>, number][] => [
    ['OSS out of reach', [...args, ...unreachable], {}, 4],
    ['OSS refuses the key', [...args, ...endpoint], stranger, 5],
    ['no such bucket', [...args, ...otherBucket], {}, 6],
  ];
  const html = join(dir, 'report.html');
  return {
    check: [
      ['a layer the function accepts', [join(dir, 'good.zip')], {}, 0],
      ['a layer it refuses', [join(dir, 'bad.zip')], {}, 1],
      ['no such zip', [join(dir, 'none.zip')], {}, 2],
    ],
    publish: [
      ['a layer the function would refuse', [join(dir, 'bad.zip'), ...endpoint], {}, 1],
      ['no --bucket', [join(dir, 'good.zip')], {}, 2],
      ['no publisher to answer', [join(dir, 'good.zip'), ...endpoint, '--wait', '0'], {}, 3],
      ...outside([join(dir, 'good.zip')]),
    ],
    results: [
      ['the bucket lists', [...endpoint, '--prefix', 'elsewhere/'], {}, 0],
      ['a failed result', endpoint, {}, 1],
      ['a bad flag', ['--bukcet', BUCKET], {}, 2],
      ...outside([]),
    ],
    audit: [['the trail', endpoint, {}, 0], ['a layer the trail does not know', [...endpoint, '--layer', 'brokne'], {}, 2], ...outside([])],
    verify: [
      ['FC holds what the trail says', [...endpoint, ...fcEndpoint, '--prefix', 'elsewhere/'], {}, 0],
      ['FC refuses the listing', [...endpoint, ...fcEndpoint, '--layer', 'refused'], {}, 1],
      ['no --bucket', fcEndpoint, {}, 2],
      ...outside(fcEndpoint),
    ],
    report: [
      ['the page is written', ['--html', html, ...endpoint], {}, 0],
      ['FC refuses the listing', ['--html', html, ...endpoint, ...fcEndpoint, '--layer', 'refused'], {}, 1],
      ['no --html', endpoint, {}, 2],
      ...outside(['--html', html]),
    ],
  };
}

describe('exit codes: what each --help states is what each command does', () => {
  for (const name of COMMANDS) {
    it(`${name}`, async () => {
      const stated = statedCodes((await run([name, '--help'])).out);
      const given = new Set<number>();
      for (const [what, args, env, expected] of scenarios()[name]) {
        // FC refuses (400) the listing of the layer "refused", once per scenario that names it.
        if (args.includes('refused')) fc.faults.inject({ match: (target) => target.action === 'ListLayerVersions', status: 400, code: 'InvalidArgument' });
        const { code, err } = await run([name, ...args], env);
        fc.faults.clear();
        expect({ what, code }, err).toEqual({ what, code: expected });
        expect(stated, `${name} --help states ${code} (${what})`).toContain(code);
        given.add(code);
      }
      const elsewhere = Object.keys(COVERED_ELSEWHERE[name] ?? {}).map(Number);
      expect(stated.filter((code) => !given.has(code) && !elsewhere.includes(code))).toEqual([]);
    });
  }
});
