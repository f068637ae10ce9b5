import { describe, expect, it } from 'vitest';
import {
  contentsFolder,
  contentsKey,
  contentsKeyParts,
  createLogFolder,
  indexLogFolder,
  layerIndexKey,
  listingKey,
  markerName,
  markerOf,
  noticeKeys,
  recordKey,
  recordsFolder,
  rolloutMarkerName,
  stagedKey,
  uploadFolder,
} from '../../src/audit/layout';

/**
 * The keys under AUDIT_PREFIX and INDEX_PREFIX as docs/exactly-once.md and docs/index-and-notices.md
 * name them: ledgers already written keep being found, and consumers keep finding the index.
 */
describe('the key layout under AUDIT_PREFIX and INDEX_PREFIX', () => {
  it.each([
    ['upload folder', uploadFolder('_audit/', 'u1'), '_audit/uploads/u1/'],
    ["another region's folder", uploadFolder('_audit/', 'u1', 'cn-beijing'), '_audit/uploads/u1/regions/cn-beijing/'],
    ['claim', markerName.claim(3), 'claim-3.json'],
    ['intent', markerName.intent(3), 'intent-3.json'],
    ['released', markerName.released(3), 'released-3.json'],
    ['first outcome', markerName.outcome(1), 'outcome.json'],
    ['later outcome', markerName.outcome(2), 'outcome-2.json'],
    ['provenance', markerName.provenance('zip'), 'provenance-zip.json'],
    ['follow-up', markerName.followUp('retention'), 'followups/retention.json'],
    ['index', markerName.index(), 'index.json'],
    ['rollout', markerName.rollout('cn-hangzhou', 'api'), 'rollout/cn-hangzhou/api/'],
    ["a rollout's intent", rolloutMarkerName.intent(2), 'intent-2.json'],
    ["a rollout's canary", rolloutMarkerName.canary(), 'canary.json'],
    ["a rollout's outcome", rolloutMarkerName.done(), 'done.json'],
    ['records', recordsFolder('_audit/'), '_audit/records/'],
    ['record', recordKey('_audit/', '2026-12-07T05:17:12.345Z', 'u1-published'), '_audit/records/2026-12-07/2026-12-07T05-17-12-345Z-u1-published.json'],
    ['staged copy', stagedKey('_audit/', 'u1', 'layers/geo.zip'), '_audit/staged/u1/geo.zip.staged'],
    ['contents', contentsFolder('_audit/'), '_audit/contents/'],
    ["one layer's contents", contentsFolder('_audit/', 'deps'), '_audit/contents/deps/'],
    ['contents document', contentsKey('_audit/', 'deps', 12), '_audit/contents/deps/v12.cdx.json'],
    ["a layer's index log", indexLogFolder('_audit/', 'deps'), '_audit/index/layers/deps/'],
    ["the listing's log", indexLogFolder('_audit/'), '_audit/index/all/'],
    ['notice marker', noticeKeys('_audit/', 'n1', 'webhook').marker, '_audit/notices/n1/webhook.json'],
    ['notice outcome', noticeKeys('_audit/', 'n1', 'webhook').outcome, '_audit/notices/n1/webhook.outcome.json'],
    ["a layer's index document", layerIndexKey('_index/', 'deps'), '_index/layers/deps.json'],
    ['the listing', listingKey('_index/'), '_index/layers.json'],
  ])('%s', (_name, key, expected) => {
    expect(key).toBe(expected);
  });

  it.each([
    [markerName.claim(12), { kind: 'claim', attempt: 12 }],
    [markerName.intent(3), { kind: 'intent', attempt: 3 }],
    [markerName.released(1), { kind: 'released', attempt: 1 }],
    [markerName.outcome(1), { kind: 'outcome', generation: 1 }],
    [markerName.outcome(4), { kind: 'outcome', generation: 4 }],
    ['outcome-1.json', undefined],
    ['claim-0.json', undefined],
    ['claim-01.json', undefined],
    ['claim-x.json', undefined],
    [markerName.provenance('zip'), undefined],
    [markerName.index(), undefined],
  ])('reads the listed name %s back', (name, expected) => {
    expect(markerOf(name)).toEqual(expected);
  });

  it('reads a contents key back, and no other', () => {
    expect(contentsKeyParts(contentsKey('_audit/', 'deps', 12))).toEqual({ layerName: 'deps', version: 12 });
    expect(contentsKeyParts('_audit/contents/deps/latest.json')).toBeUndefined();
    expect(contentsKeyParts('_audit/contents/deps/v0.cdx.json')).toBeUndefined();
  });

  it('refuses an upload id that would leave its staged folder', () => {
    expect(() => stagedKey('_audit/', '../u1', 'layers/geo.zip')).toThrow(/upload id must be \[A-Za-z0-9_-\]\+, got "\.\.\/u1"/);
  });

  it('names one failure by a hash of what failed, the same for the same failure', () => {
    expect(markerName.failed('ZipInvalid')).toMatch(/^failed-[0-9a-f]{16}\.json$/);
    expect(markerName.failed('ZipInvalid')).toBe(markerName.failed('ZipInvalid'));
    expect(markerName.failed('ZipInvalid')).not.toBe(markerName.failed('Unavailable#1'));
  });

  it('names a create log by bucket and zip key, apart for another key', () => {
    expect(createLogFolder('_audit/', 'b', 'layers/a.zip')).toMatch(/^_audit\/creates\/[0-9a-f]{40}\/$/);
    expect(createLogFolder('_audit/', 'b', 'layers/a.zip')).not.toBe(createLogFolder('_audit/', 'b', 'layers/b.zip'));
  });
});
