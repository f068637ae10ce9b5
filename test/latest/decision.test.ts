import { describe, expect, it } from 'vitest';
import { decisionOf } from '../../src/follow-ups/decision';
import { logEntryOf } from '../../src/latest/update';
import type { PublishResult } from '../../src/publish/result';

/** What the follow-ups read of a written result: each region's version, the home region's first. */
const base: PublishResult = {
  status: 'published',
  layerName: 'pillow',
  version: 3,
  arn: 'acs:fc:cn-hangzhou:1:layers/pillow/versions/3',
  source: { bucket: 'team-layers', key: 'layers/pillow.zip', etag: 'E', crc64: '42' },
  event: { name: 'ObjectCreated:PutObject', time: undefined, requestId: undefined, key: 'layers/pillow.zip' },
  requestId: 'r',
  startedAt: '2026-12-07T04:00:00.000Z',
  finishedAt: '2026-12-07T04:00:01.000Z',
};
const fields = { resultKey: 'layers/pillow.result.json', uploadId: 'u', manifest: { compatibleRuntime: ['python3.10'] }, homeRegion: 'cn-hangzhou' };

describe('decisionOf and the index entry it makes', () => {
  it('without REGIONS: the home region, its codeChecksum the verified CRC-64', () => {
    expect(decisionOf(base, fields)?.regions).toEqual([
      { region: 'cn-hangzhou', home: true, status: 'published', version: 3, arn: base.arn, codeChecksum: '42' },
    ]);
  });

  it('with REGIONS: every region, home first; a failed region names no version in the index', () => {
    const result: PublishResult = {
      ...base,
      regions: {
        'cn-shanghai': { status: 'published', version: 8, arn: 'acs:fc:cn-shanghai:1:layers/pillow/versions/8', codeChecksum: '42' },
        'cn-hangzhou': { status: 'published', home: true, version: 3, arn: base.arn },
        'cn-beijing': { status: 'failed', error: { code: 'FcRejected', message: 'cn-beijing: quota', retryable: false } },
      },
    };
    const decision = decisionOf(result, fields)!;
    expect(decision.regions.map((r) => [r.region, r.home, r.version, r.codeChecksum])).toEqual([
      ['cn-hangzhou', true, 3, '42'],
      ['cn-shanghai', false, 8, '42'],
      ['cn-beijing', false, undefined, undefined],
    ]);
    expect(Object.keys(logEntryOf(decision)!.regions)).toEqual(['cn-hangzhou', 'cn-shanghai']);
    expect(Object.isFrozen(decision)).toBe(true);
  });

  it('waiting is no decision; a failure names no version', () => {
    expect(decisionOf({ ...base, status: 'waiting' }, fields)).toBeUndefined();
    const failed = decisionOf(
      { ...base, status: 'failed', version: undefined, arn: undefined, error: { code: 'ZipInvalid', message: 'not a zip', retryable: false } },
      fields,
    )!;
    expect(failed.regions).toEqual([]);
    expect(logEntryOf(failed)).toBeUndefined();
  });
});
