import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult } from '../../src/publish/result';
import { MIN_TAIL_BYTES, checkLayout } from '../../src/zip';
import { type ZipCase, zipCorpus } from '../fixtures/zips/corpus';
import { TEST_BUCKET, testContext, useMswCloud } from '../support/cloud';
import { manifestBytes } from '../support/layers';
import { read } from './helpers';

const CORPUS = zipCorpus();
const title = (entry: ZipCase) => `${entry.madeBy}: ${entry.name} → ${entry.verdict.ok ? 'accepted' : entry.verdict.code}`;

type Outcome = { ok: true; entryCount: number } | { ok: false; code: unknown; message: string; entry: unknown };

async function outcome(zip: Uint8Array, chunkSizes: number[] = [], options: { concurrency?: number; tailBytes?: number } = {}): Promise<Outcome> {
  try {
    const { contents } = await read(zip, chunkSizes, options);
    // The whole verdict: what readArchive checks, then the layout rule, as the publisher runs them.
    checkLayout(contents, ['nodejs20']);
    return { ok: true, entryCount: contents.entryCount };
  } catch (error) {
    const { code, message, context } = error as { code?: string; message: string; context?: Record<string, unknown> };
    return { ok: false, code, message, entry: context?.entry };
  }
}

describe(`zip corpus: ${CORPUS.length} archives (${CORPUS.filter((entry) => entry.verdict.ok).length} accepted)`, () => {
  it('holds real-tool archives of every kind and hostile ones', () => {
    for (const madeBy of ['python3 zipfile', 'Info-ZIP zip 3.0', 'jar', 'hand'] as const) {
      expect(CORPUS.filter((entry) => entry.madeBy === madeBy).length).toBeGreaterThan(0);
    }
    expect(new Set(CORPUS.map((entry) => entry.name)).size).toBe(CORPUS.length);
  });

  it.each(CORPUS.map((entry) => [title(entry), entry] as const))('%s', async (_title, entry) => {
    const got = await outcome(entry.zip);
    const { verdict } = entry;
    if (verdict.ok) {
      expect(got).toMatchObject({ ok: true });
      return;
    }
    expect(got).toMatchObject({ ok: false, code: verdict.code });
    if (!got.ok) {
      expect(got.message).toMatch(verdict.message);
      if (verdict.entry !== undefined) {
        expect(got.entry).toBe(verdict.entry);
        expect(got.message).toContain(JSON.stringify(verdict.entry));
      }
    }
  });

  it('reaches the same verdict however the stream is cut into chunks, read at any concurrency', async () => {
    const expected = new Map<string, Outcome>();
    for (const entry of CORPUS) expected.set(entry.name, await outcome(entry.zip));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CORPUS),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(MIN_TAIL_BYTES, 1024 * 1024),
        async (entry, chunkSizes, concurrency, tailBytes) => {
          expect(await outcome(entry.zip, chunkSizes, { concurrency, tailBytes })).toEqual(expected.get(entry.name));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('zip corpus through the handler, with the emulated cloud', () => {
  const env = useMswCloud();

  it.each(CORPUS.map((entry) => [title(entry), entry] as const))('%s', async (_title, entry) => {
    const { cloud } = env;
    const base = `layers/corpus-${CORPUS.indexOf(entry)}`;
    await cloud.oss.putObject(TEST_BUCKET, `${base}.zip`, entry.zip);
    await cloud.oss.putObject(TEST_BUCKET, `${base}.layer.json`, manifestBytes({ layerName: 'left-pad', compatibleRuntime: ['nodejs20'] }));
    const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `${base}.zip`);

    const summary = await handleOssEvent(
      Buffer.from(JSON.stringify({ events: [record] })),
      { ...testContext('zip-corpus'), function: { timeout: 30 } },
      {
        env: {},
        write: () => undefined,
      },
    );

    const written = await cloud.oss.readObject(TEST_BUCKET, `${base}.result.json`);
    const result = JSON.parse(Buffer.from(written!).toString('utf8')) as PublishResult;
    const creates = cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
    if (entry.verdict.ok) {
      expect(summary[0]).toMatchObject({ status: 'published' });
      expect(result.status).toBe('published');
      expect(creates).toHaveLength(1);
      return;
    }
    expect(summary[0]).toMatchObject({ status: 'failed', error: { code: entry.verdict.code, retryable: false } });
    expect(result.error?.message).toMatch(entry.verdict.message);
    // Whatever is read from the archive names it; the layout rule's messages are about the layout.
    if (entry.verdict.code === 'ZipInvalid') expect(result.error?.message).toContain(`${base}.zip`);
    if (entry.verdict.entry !== undefined) expect(result.error?.message).toContain(JSON.stringify(entry.verdict.entry));
    expect(creates).toHaveLength(0);
  });
});
