import { describe, expect, it } from 'vitest';
import { createLogFolder, markerName, recordKey, recordsFolder, rolloutMarkerName, uploadFolder } from '../../src/audit/layout';

/** The keys under AUDIT_PREFIX as docs/exactly-once.md names them: ledgers already written keep being found. */
describe('the key layout under AUDIT_PREFIX', () => {
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
  ])('%s', (_name, key, expected) => {
    expect(key).toBe(expected);
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
