import { describe, expect, it } from 'vitest';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult, Summary } from '../../src/publish/result';
import { BAD_INPUTS, type BadInputCase } from '../fixtures/bad-inputs/cases';
import { TEST_BUCKET, testContext, useMswCloud } from '../support/cloud';
import { expectInvariants, readJson, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';

const env = useMswCloud();
const LAYERS = ['left-pad', 'py-layer', 'java-layer', 'php-layer', 'custom-layer'];

const count = (group: BadInputCase['group']) => BAD_INPUTS.filter((entry) => entry.group === group).length;
const byOutcome = (outcome: string) => BAD_INPUTS.filter((entry) => entry.expect.outcome === outcome).length;

async function deliver(entry: BadInputCase) {
  const { cloud } = env;
  const base = entry.base ?? 'layers/bad';
  const zip = entry.zip ?? nodejsLayerZip('corpus');
  const manifest = entry.manifest instanceof Uint8Array ? entry.manifest : manifestBytes(entry.manifest ?? NODE_MANIFEST);
  await cloud.oss.putObject(TEST_BUCKET, `${base}.zip`, zip);
  await cloud.oss.putObject(TEST_BUCKET, `${base}.layer.json`, manifest);
  const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${base}${entry.from === 'manifest' ? '.layer.json' : '.zip'}`);
  const payload = entry.payload ? entry.payload(record) : Buffer.from(JSON.stringify({ events: [record] }));
  const before = await snapshot(cloud, LAYERS);
  cloud.oss.requests.clear();
  before.ossRequests = 0;

  const rawLines: string[] = [];
  let summary: Summary | undefined;
  let error: Error | undefined;
  try {
    summary = await handleOssEvent(
      payload,
      { ...testContext(`corpus-${entry.group}`), function: { timeout: 30 } },
      {
        env: entry.env ?? {},
        write: (line) => rawLines.push(line),
      },
    );
  } catch (caught) {
    error = caught as Error;
  }
  return { base, before, summary, error, rawLines };
}

describe(`bad-input corpus: ${BAD_INPUTS.length} cases (${count('event')} events, ${count('manifest')} manifests, ${count('zip')} zips, ${count('key')} keys; ${byOutcome('failed')} failed, ${byOutcome('rejects')} rejected, ${byOutcome('ignored')} ignored, ${byOutcome('published')} published)`, () => {
  it('holds at least 40 cases', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(BAD_INPUTS.map((entry) => `${entry.group}: ${entry.name}`)).size).toBe(BAD_INPUTS.length);
  });

  for (const group of ['event', 'manifest', 'zip', 'key'] as const) {
    const cases = BAD_INPUTS.filter((entry) => entry.group === group);
    describe(`${group}: ${cases.length} cases`, () => {
      it.each(cases.map((entry) => [`${entry.name} → ${describeExpected(entry)}`, entry] as const))('%s', async (_title, entry) => {
        const { cloud } = env;
        const run = await deliver(entry);
        const expected = entry.expect;

        // Never a crash: a summary or an Error with a message, and every log line is JSON (docs/contract.md §8).
        for (const line of run.rawLines.flatMap((chunk) => chunk.split('\n').filter(Boolean))) {
          expect(() => JSON.parse(line), line).not.toThrow();
        }
        switch (expected.outcome) {
          case 'failed': {
            expect(run.error).toBeUndefined();
            expect(run.summary).toHaveLength(1);
            expect(run.summary?.[0]).toMatchObject({ status: 'failed', error: { code: expected.code, retryable: false } });
            const result = await readJson<PublishResult>(cloud, `${run.base}.result.json`);
            expect(result).toMatchObject({ status: 'failed', error: { code: expected.code, retryable: false } });
            expect(result?.error?.message).toMatch(expected.message);
            expect(cloud.fc.requests.entries).toHaveLength(0);
            break;
          }
          case 'ignored':
            expect(run.error).toBeUndefined();
            expect(run.summary).toEqual([expect.objectContaining({ status: 'ignored' })]);
            expect(cloud.oss.requests.entries).toHaveLength(0);
            expect(cloud.fc.requests.entries).toHaveLength(0);
            break;
          case 'rejects':
            expect(run.summary).toBeUndefined();
            expect(run.error).toBeInstanceOf(Error);
            expect(run.error?.message).toMatch(expected.message);
            expect(cloud.fc.requests.entries).toHaveLength(0);
            break;
          case 'published': {
            expect(run.error).toBeUndefined();
            expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
            const result = await readJson<PublishResult>(cloud, `${run.base}.result.json`);
            expect(result).toMatchObject({ status: 'published', source: { key: `${run.base}.zip` } });
            const create = cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
            expect(create).toHaveLength(1);
            expect(create[0]?.body).toMatchObject({ Code: { ossObjectName: `${run.base}.zip` } });
            break;
          }
        }
        await expectInvariants(cloud, run.before, { layers: LAYERS, runs: [run] });
      });
    });
  }
});

function describeExpected(entry: BadInputCase): string {
  const expected = entry.expect;
  return expected.outcome === 'failed' ? `failed ${expected.code}` : expected.outcome;
}
