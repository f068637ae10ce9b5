import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayer, describeCheck } from '../../src/cli/check';
import { zipCorpus } from '../fixtures/zips/corpus';
import { independentCrc64 } from '../support/independent';

const CORPUS = zipCorpus();
const dir = mkdtempSync(join(tmpdir(), 'check-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `layer-publisher check` runs the function's own checks: the same verdict, the entry at fault named. */
describe('layer-publisher check on the zip corpus', () => {
  it.each(CORPUS.map((entry, index) => [`${entry.madeBy}: ${entry.name}`, entry, index] as const))('%s', async (_title, entry, index) => {
    const zipPath = join(dir, `case-${index}.zip`);
    writeFileSync(zipPath, entry.zip);
    writeFileSync(join(dir, `case-${index}.layer.json`), JSON.stringify({ layerName: 'left-pad', compatibleRuntime: ['nodejs20'] }));

    const report = await checkLayer(zipPath, join(dir, `case-${index}.layer.json`));

    if (entry.verdict.ok) {
      expect(report).toMatchObject({ ok: true, problems: [], zip: { crc64: independentCrc64(entry.zip) } });
      return;
    }
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    const [problem] = report.problems;
    expect(problem).toMatchObject({ code: entry.verdict.code, message: expect.stringMatching(entry.verdict.message) });
    if (entry.verdict.entry !== undefined) {
      expect(problem?.entry).toBe(entry.verdict.entry);
      expect(describeCheck(report)).toContain(`error     ${entry.verdict.code} (entry ${JSON.stringify(entry.verdict.entry)}): `);
    }
  });
});
