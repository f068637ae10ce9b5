import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ACCOUNT_ID, TEST_BUCKET } from '../support/cloud';
import { type Chromium, launchChromium } from '../support/browser';
import { fc2Client } from '../support/fc2';
import { NODE_MANIFEST, makeZip, nodejsLayerZip } from '../support/layers';
import { addProvenance, auditRecordKeys, fcFlags, ossFlags, provenanceOf, publishThroughHandler, runCommand, useLoopbackCloud } from './published-trail';

const env = useLoopbackCloud();

/** Kept after the run (git-ignored) for people to look at. */
const ARTEFACTS = resolve('test-artifacts');

/** User input that tries to run script in whoever opens the report. */
const XSS_DESCRIPTION = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
const XSS_PRINCIPAL = `<script>document.title='pwned'</script>RAM$mallory:1`;
const ALICE = provenanceOf('RAM$team-a:203456789', '203.0.113.7', '2026-12-01T09:30:00.000Z');

let browser: Chromium;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  await mkdir(ARTEFACTS, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A bucket with a real history: left-pad v1 (uploaded by alice), the same code again (unchanged),
 * v2 with a description that tries XSS (its record names a hostile principal), a zip in the wrong
 * layout; other v1, deleted by retention. Then drift: a version made by hand through FC's API and
 * left-pad v1 deleted outside the bucket.
 */
async function bucketWithHistory(): Promise<void> {
  const { cloud } = env;
  await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST);
  const { layerName, ...rest } = NODE_MANIFEST;
  await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), { ...rest, layerName });
  await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v2'), { ...NODE_MANIFEST, description: XSS_DESCRIPTION });
  await publishThroughHandler(cloud, 'layers/left-pad', makeZip({ 'node_modules/left-pad/index.js': 'x' }), NODE_MANIFEST);
  await publishThroughHandler(cloud, 'layers/other', nodejsLayerZip('o1'), { ...NODE_MANIFEST, layerName: 'other' });
  const [v1, , v2] = await auditRecordKeys(cloud);
  await addProvenance(cloud, v1!, ALICE);
  await addProvenance(cloud, v2!, provenanceOf(XSS_PRINCIPAL, '198.51.100.9', '2026-12-01T10:00:00.000Z'));

  const fc = fc2Client({ endpoint: cloud.fcEndpoint });
  // Retention as a publisher that keeps N versions records it: the version goes, and a record says so.
  await fc.deleteLayerVersion('other', 1);
  const deletedAt = new Date().toISOString();
  await cloud.oss.putObject(
    TEST_BUCKET,
    `_audit/records/${deletedAt.slice(0, 10)}/${deletedAt.replace(/[:.]/g, '-')}-retention.json`,
    Buffer.from(JSON.stringify({ kind: 'deleted', status: 'deleted', layerName: 'other', version: 1, reason: 'retain 0', finishedAt: deletedAt })),
  );
  await fc.publishLayerVersion('left-pad', { Code: { zipFile: nodejsLayerZip('by hand').toString('base64') }, compatibleRuntime: ['nodejs20'] });
  await fc.deleteLayerVersion('left-pad', 1);
}

describe('layer-publisher report --html, as a person sees it in Chromium', () => {
  it('shows each layer’s timeline with statuses, who and when, drift highlighted, and runs nothing from the bucket', async () => {
    await bucketWithHistory();
    const file = join(dir, 'report.html');
    const written = await runCommand('report', '--html', file, ...ossFlags(env.cloud), ...fcFlags(env.cloud));
    expect(written.err).toBe('');
    expect(written.code).toBe(0);
    expect(written.out).toContain('2 drifted');
    const html = await readFile(file, 'utf8');
    // Self-contained: nothing to run, nothing to fetch.
    expect(html).not.toMatch(/<(script|img|link|iframe|object|embed)\b|<[^>]*\s(src|href)=/i);

    const page = await browser.context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(file).href);

    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(await page.title()).toBe(`Layer audit: ${TEST_BUCKET}`);
    // What a person sees: innerText is the rendered text (a <br> is a line break), textContent the markup's.
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await page.locator('h1').innerText()).toBe('Layer audit report');
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await page.locator('#compared').innerText()).toMatch(/^Compared with Function Compute at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 2 drifted\.$/);
    expect(await page.locator('section.layer h2').allInnerTexts()).toEqual(['left-pad 2 drift', 'other']);

    const rows = async (layer: number) =>
      page
        .locator('section.layer')
        .nth(layer)
        .locator('table.timeline tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => {
            // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees; the "who" cell's <br> is a line break in it, which textContent drops.
            const cells = Array.from(tr.querySelectorAll('td')).map((td) => (td as HTMLElement).innerText.trim());
            const [when = '', version = '', status = '', who = '', detail = ''] = cells;
            return { when, version, status, who, detail, background: getComputedStyle(tr).backgroundColor };
          }),
        );
    const leftPad = await rows(0);
    expect(leftPad.map((row) => [row.version, row.status])).toEqual([
      ['1', 'published'],
      ['1', 'unchanged'],
      ['2', 'published'],
      ['-', 'failed'],
      ['3', 'drift: made outside the bucket'],
      ['1', 'drift: gone from FC'],
    ]);
    for (const row of leftPad) expect(row.when).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(leftPad[0]!.who).toBe(`${ALICE.zip.principalId} from 203.0.113.7\nuploaded 2026-12-01 09:30:00 UTC`);
    // A real publish records the uploader its event names (the emulated OSS: the account, from loopback).
    expect(leftPad[1]!.who).toMatch(new RegExp(`^${TEST_ACCOUNT_ID} from 127\\.0\\.0\\.1\\nuploaded \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`));
    expect(leftPad[3]!.detail).toMatch(/^ZipLayoutInvalid: /);
    expect(leftPad[5]!.detail).toContain('Function Compute no longer has it');

    // The XSS attempt is shown as the text it is, and ran nothing.
    expect(leftPad[2]!.detail).toContain(XSS_DESCRIPTION);
    expect(leftPad[2]!.who).toContain(XSS_PRINCIPAL);
    expect(await page.locator('script, img').count()).toBe(0);

    // Drift stands out; the other rows do not.
    const drifted = leftPad.filter((row) => row.status.startsWith('drift'));
    expect(new Set(drifted.map((row) => row.background))).toEqual(new Set(['rgb(255, 235, 233)']));
    expect(new Set(leftPad.filter((row) => !row.status.startsWith('drift')).map((row) => row.background))).toEqual(new Set(['rgba(0, 0, 0, 0)']));
    expect(
      await page
        .locator('section.layer')
        .nth(0)
        .evaluate((section) => getComputedStyle(section).borderColor),
    ).toBe('rgb(207, 34, 46)');

    expect((await rows(1)).map((row) => [row.version, row.status, row.detail])).toEqual([
      ['1', 'published', expect.stringContaining('layers/other.zip')],
      ['1', 'deleted', 'retain 0'],
    ]);
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await page.locator('section.layer').nth(1).locator('.held').innerText()).toBe('Function Compute holds no version.');

    await page.screenshot({ path: join(ARTEFACTS, 'report.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('without Function Compute, says it was not compared and shows no drift', async () => {
    await publishThroughHandler(env.cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST);
    const file = join(dir, 'plain.html');
    const written = await runCommand('report', '--html', file, ...ossFlags(env.cloud), '--json');
    expect(JSON.parse(written.out)).toEqual({ html: file, layers: 1, records: 1, drift: null });

    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await page.locator('#compared').innerText()).toContain('Not compared with Function Compute');
    expect(await page.locator('table.timeline tbody tr').count()).toBe(1);
    expect(await page.locator('tr.status-drift').count()).toBe(0);
    // The contents the publisher recorded for that version, read back from its CycloneDX document.
    expect(await page.locator('table.contents tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^1\t2\t0\.0 MiB\t1\tthe first version with recorded contents$/),
    ]);
    await page.close();
  }, 60_000);

  it('--html is required', async () => {
    const missing = await runCommand('report', ...ossFlags(env.cloud));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--html <file> is required');
  });
});
