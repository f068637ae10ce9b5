import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseContents } from '../../src/report/contents';
import { renderReport } from '../../src/report/html';
import { buildTimelines } from '../../src/report/timeline';
import { parseTrailEntry } from '../../src/report/trail';
import { type Chromium, launchChromium } from '../support/browser';
import { cycloneDx, npm } from '../support/cyclonedx';

/** Kept after the run (git-ignored) for people to look at. */
const ARTEFACTS = resolve('test-artifacts');
/** A package name that tries to run script in whoever opens the report. */
const HOSTILE = '<img src=x onerror="document.title=\'pwned\'">';

let browser: Chromium;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'report-contents-'));
  await mkdir(ARTEFACTS, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

const published = (version: number, when: string) =>
  parseTrailEntry('audit', `_audit/records/2026-12-07/deps-${version}.json`, {
    kind: 'result',
    status: 'published',
    layerName: 'deps',
    version,
    source: { key: 'layers/deps.zip', crc64: String(version) },
    finishedAt: when,
  });

describe('the HTML report, per version', () => {
  it('shows what changed inside since the version before, in Chromium', async () => {
    const facts = (version: number, files: number) => ({ files, unpackedBytes: files * 2 ** 20, crc64: String(version) });
    const contents = [
      parseContents('_audit/contents/deps/v1.cdx.json', cycloneDx('deps', 1, [npm('lodash', '4.17.20'), npm('left-pad', '1.3.0')], facts(1, 2))),
      parseContents('_audit/contents/deps/v2.cdx.json', cycloneDx('deps', 2, [npm('lodash', '4.17.21'), npm(HOSTILE, '1.0.0')], facts(2, 3))),
      parseContents('_audit/contents/deps/v3.cdx.json', cycloneDx('deps', 3, [npm('lodash', '4.17.21'), npm(HOSTILE, '1.0.0')], facts(3, 3))),
    ];
    const trail = [published(1, '2026-12-05T00:00:00.000Z'), published(2, '2026-12-06T00:00:00.000Z'), published(3, '2026-12-07T00:00:00.000Z')];
    const html = renderReport({
      bucket: 'team-layers',
      prefix: '',
      timelines: buildTimelines(trail, undefined),
      verify: undefined,
      contents,
      generatedAt: new Date('2026-12-07T12:00:00Z'),
    });
    const file = join(dir, 'report.html');
    await writeFile(file, html);

    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);

    const table = page.locator('section.layer table.contents');
    // The report as a person sees it: innerText is the rendered text (each <li> a line), textContent the markup's.
    // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees.
    expect(await table.locator('caption').innerText()).toBe('Inside each version');
    const rows = await table.locator('tbody tr').evaluateAll((trs) =>
      // biome-ignore lint/performance/useDomNodeTextContent: asserts the rendered text a person sees; the changes are a list whose items are lines in it, which textContent runs together.
      trs.map((tr) => ({ version: tr.getAttribute('data-version'), cells: Array.from(tr.querySelectorAll('td'), (td) => td.innerText.trim()) })),
    );
    expect(rows).toEqual([
      { version: '1', cells: ['1', '2', '2.0 MiB', '2', 'the first version with recorded contents'] },
      { version: '2', cells: ['2', '3', '3.0 MiB', '2', `since version 1:\n+ npm ${HOSTILE} 1.0.0\n- npm left-pad 1.3.0\n~ npm lodash 4.17.20 -> 4.17.21`] },
      { version: '3', cells: ['3', '3', '3.0 MiB', '2', 'since version 2: the same packages'] },
    ]);
    // Added in green, removed in red, as the page's style says.
    expect(await table.locator('li.change-added').evaluate((li) => getComputedStyle(li).color)).toBe('rgb(17, 99, 41)');
    expect(await table.locator('li.change-removed').evaluate((li) => getComputedStyle(li).color)).toBe('rgb(207, 34, 46)');
    // The hostile name is text, not an element.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).toBe('Layer audit: team-layers');
    await page.screenshot({ path: join(ARTEFACTS, 'report-contents.png'), fullPage: true });
    await page.close();
  });

  it('shows no contents table for a layer without recorded contents', async () => {
    const html = renderReport({
      bucket: 'b',
      prefix: '',
      timelines: buildTimelines([published(1, '2026-12-05T00:00:00.000Z')], undefined),
      verify: undefined,
      contents: [],
      generatedAt: new Date(),
    });
    const file = join(dir, 'plain.html');
    await writeFile(file, html);
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    expect(await page.locator('table.contents').count()).toBe(0);
    expect(await page.locator('table.timeline tbody tr').count()).toBe(1);
    await page.close();
  });
});
