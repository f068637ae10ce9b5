import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import OSS from 'ali-oss';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import type { LocalStack } from '../../src/local/stack';
import type { PublishResult } from '../../src/publish/result';
import { type Chromium, launchChromium } from '../support/browser';
import { recordForSecretScan } from '../support/secret-scan';
import { ensureBundles } from './bundles';
import { createFunction, createLayerVersionByHand, listFc3Functions } from './lifecycle-sdk';
import { LOCAL_BUCKET as BUCKET, readJson, settledResult, useLocalStacks } from './stack-harness';

/**
 * The whole life of a layer as a new user tries it on `npm start`: published four times with
 * `"retain": 2` while a function of the local FC (made with FC 3.0's CreateFunction, kept across a
 * restart) uses version 1; the audit trail names who uploaded each; a version made by hand through
 * FC's API is drift; the HTML report shows it all in Chromium.
 */
const stacks = useLocalStacks();
let browser: Chromium;
let dir: string;

beforeAll(async () => {
  await ensureBundles();
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'lifecycle-'));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

const LAYER = 'clock';
/** Kept after the run (git-ignored) for people to look at. */
const ARTEFACTS = resolve('test-artifacts');

function ossOf(stack: LocalStack): OSS {
  return new OSS({ endpoint: stack.ossUrl, bucket: BUCKET, region: `oss-${LOCAL_REGION}`, ...LOCAL_CREDENTIALS, authorizationV4: true } as OSS.Options);
}

function layerZip(release: number): Buffer {
  return Buffer.from(zipSync({ [`nodejs/node_modules/${LAYER}/index.js`]: Buffer.from(`module.exports = ${release};`) }));
}

/** Uploads one release of the layer and waits for its result. */
async function publish(stack: LocalStack, release: number): Promise<PublishResult> {
  await ossOf(stack).put(`layers/${LAYER}.zip`, layerZip(release));
  await stack.idle();
  return settledResult(join(stack.bucketFolder, 'layers', `${LAYER}.result.json`));
}

/** `layer-publisher <argv>` with no key in the environment: against 127.0.0.1 the local stack's is used. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => void (out += text), err: (text) => void (err += text), env: {}, interactive: false });
  recordForSecretScan('cli output', out + err);
  return { code, out, err };
}

describe('npm start: a layer’s whole life', () => {
  it('retain 2 keeps two versions and the one a function uses; audit says who; a version made by hand is drift; the report shows it', async () => {
    const first = await stacks.start();
    await first.stack.idle();
    await ossOf(first.stack).put(`layers/${LAYER}.layer.json`, Buffer.from(JSON.stringify({ layerName: LAYER, compatibleRuntime: ['nodejs20'], retain: 2 })));
    await first.stack.idle();
    const v1 = await publish(first.stack, 1);
    expect(v1).toMatchObject({ status: 'published', version: 1, retention: { keep: 2, kept: [], deleted: [] } });

    // A function of the local FC uses version 1, made as a user makes one: FC 3.0's CreateFunction, official SDK.
    const arnV1 = `acs:fc:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:layers/${LAYER}/versions/1`;
    const created = await createFunction(first.stack.fcUrl, 'web', [arnV1]);
    expect(created).toMatchObject({ functionName: 'web', runtime: 'nodejs20', layers: [{ arn: arnV1, size: expect.any(Number) }] });
    await stacks.release(first);

    // After a restart the function is still there (the data folder keeps it), and retention sees it.
    const { stack } = await stacks.start(first.dataDir);
    await stack.idle();
    expect(await readJson(join(first.dataDir, 'functions.json'))).toMatchObject({
      functions: [{ functionName: 'web', layers: [{ layerName: LAYER, version: 1 }] }],
    });
    expect(await listFc3Functions(stack.fcUrl)).toMatchObject({ functions: [{ functionName: 'web', layers: [{ arn: arnV1 }] }] });

    expect((await publish(stack, 2)).retention).toEqual({ keep: 2, kept: [], deleted: [], failed: [] });
    expect((await publish(stack, 3)).retention).toEqual({ keep: 2, kept: [1], deleted: [], failed: [] });
    // Published three times with retain 2: the two newest, and the third that `web` uses.
    expect(stack.fc.versions(LAYER).map((v) => v.version)).toEqual([1, 2, 3]);
    const v4 = await publish(stack, 4);
    expect(v4).toMatchObject({ status: 'published', version: 4 });
    // 4 and 3 are the two newest; 2 goes; 1 stays for `web`.
    expect(v4.retention).toEqual({ keep: 2, kept: [1], deleted: [2], failed: [] });
    expect(stack.fc.versions(LAYER).map((v) => v.version)).toEqual([1, 3, 4]);

    // The trail: each publish with who uploaded it, each decision of retention.
    const audit = await cli('audit', '--bucket', BUCKET, '--endpoint', stack.ossUrl, '--layer', LAYER, '--json');
    expect(audit.code).toBe(0);
    type Uploader = { principalId?: string; sourceIp?: string };
    const entries = JSON.parse(audit.out) as Array<{ status: string; version?: number; reason?: string; provenance: { zip?: Uploader; manifest?: Uploader } }>;
    expect(entries.map((e) => [e.status, e.version])).toEqual([
      // The manifest came first, alone.
      ['waiting', undefined],
      ['published', 1],
      ['published', 2],
      ['published', 3],
      ['kept', 1],
      ['published', 4],
      ['kept', 1],
      ['deleted', 2],
    ]);
    const uploader = { principalId: LOCAL_ACCOUNT_ID, sourceIp: '127.0.0.1' };
    expect(entries[0]!.provenance.manifest).toMatchObject(uploader);
    for (const entry of entries.slice(1)) expect(entry.provenance.zip).toMatchObject(uploader);
    expect(entries.filter((e) => e.status === 'kept').map((e) => e.reason)).toEqual(['in use by default/web', 'in use by default/web']);
    expect(entries.find((e) => e.status === 'deleted')?.reason).toBe('older than the 2 newest versions');
    const table = await cli('audit', '--bucket', BUCKET, '--endpoint', stack.ossUrl, '--layer', LAYER);
    const lines = table.out.trimEnd().split('\n').slice(2);
    expect(lines).toHaveLength(entries.length);
    expect(lines[0]).toContain(`- (manifest: ${LOCAL_ACCOUNT_ID})`);
    for (const line of lines.slice(1)) expect(line).toMatch(new RegExp(`\\s${LOCAL_ACCOUNT_ID}\\s+127\\.0\\.0\\.1\\s`));

    const fcFlags = ['--fc-endpoint', stack.fcUrl];
    expect(await cli('verify', '--bucket', BUCKET, '--endpoint', stack.ossUrl, ...fcFlags, '--json')).toMatchObject({ code: 0 });

    // Someone publishes by hand, past the bucket.
    expect(await createLayerVersionByHand(stack.fcUrl, LAYER, layerZip(99))).toMatchObject({ version: 5 });
    const verified = await cli('verify', '--bucket', BUCKET, '--endpoint', stack.ossUrl, ...fcFlags, '--json');
    expect(verified.code).toBe(1);
    const report = JSON.parse(verified.out) as { ok: boolean; drift: Array<{ layerName: string; version: number; kind: string }> };
    expect(report.ok).toBe(false);
    expect(report.drift.map(({ layerName, version, kind }) => ({ layerName, version, kind }))).toEqual([{ layerName: LAYER, version: 5, kind: 'unrecorded' }]);

    const file = join(dir, 'report.html');
    const written = await cli('report', '--html', file, '--bucket', BUCKET, '--endpoint', stack.ossUrl, ...fcFlags);
    expect(written).toMatchObject({ code: 0, err: '' });
    expect(await readFile(file, 'utf8')).not.toMatch(/<script\b/i);

    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    const section = page.locator('section.layer', { has: page.locator('h2', { hasText: LAYER }) });
    // The report as a person sees it: innerText is the rendered text (a <br> is a line break), textContent the markup's.
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees (the heading, its drift badge included).
    expect(await section.locator('h2').innerText()).toBe(`${LAYER} 1 drift`);
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await section.locator('.held').innerText()).toBe('Function Compute holds versions 1, 3, 4, 5.');
    const rows = await section
      .locator('table.timeline tbody tr')
      // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees; the "who" cell's <br> is a line break in it, which textContent drops.
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td as HTMLElement).innerText.trim())));
    expect(rows.map(([, version, status]) => [version, status])).toEqual([
      ['-', 'waiting'],
      ['1', 'published'],
      ['2', 'published'],
      ['3', 'published'],
      ['1', 'kept'],
      ['4', 'published'],
      ['1', 'kept'],
      ['2', 'deleted'],
      ['5', 'drift: made outside the bucket'],
    ]);
    expect(rows[0]![3]).toBe(`- (manifest: ${LOCAL_ACCOUNT_ID})`);
    for (const [, , status, who] of rows.slice(1, -1)) expect(who, status).toMatch(new RegExp(`^${LOCAL_ACCOUNT_ID} from 127\\.0\\.0\\.1\\nuploaded `));
    expect(rows.find(([, , status]) => status === 'deleted')![4]).toContain('older than the 2 newest versions');
    expect(rows.at(-1)![4]).toContain('made outside the bucket');
    await mkdir(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTEFACTS, 'lifecycle-report.png'), fullPage: true });
    await page.close();
  }, 180_000);
});
