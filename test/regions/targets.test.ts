import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { parseRegions } from '../../src/config';
import { ConfigError, InvalidInputError } from '../../src/errors';
import { manifestRegionsField, selectRegionTargets } from '../../src/regions/targets';
import { describeIssues } from '../../src/validation';

const CONFIGURED = parseRegions('cn-shanghai=team-layers-sh,cn-beijing=team-layers-bj');
const KEY = 'layers/pillow.layer.json';
const regionsOf = (targets: { region: string }[]) => targets.map((target) => target.region);

describe('selectRegionTargets', () => {
  it('is every configured region when the manifest names none', () => {
    expect(selectRegionTargets(CONFIGURED, 'cn-hangzhou', undefined, KEY)).toEqual(CONFIGURED);
    expect(selectRegionTargets([], 'cn-hangzhou', undefined, KEY)).toEqual([]);
  });

  it('narrows to the regions the manifest names, in REGIONS order, the home region being implied', () => {
    expect(regionsOf(selectRegionTargets(CONFIGURED, 'cn-hangzhou', ['cn-beijing'], KEY))).toEqual(['cn-beijing']);
    expect(regionsOf(selectRegionTargets(CONFIGURED, 'cn-hangzhou', ['cn-beijing', 'cn-hangzhou', 'cn-shanghai'], KEY))).toEqual(['cn-shanghai', 'cn-beijing']);
    expect(selectRegionTargets(CONFIGURED, 'cn-hangzhou', [], KEY)).toEqual([]);
  });

  it('never widens: a region not configured fails naming it and listing the configured ones', () => {
    const failure = (() => {
      try {
        return selectRegionTargets(CONFIGURED, 'cn-hangzhou', ['cn-shanghai', 'us-west-1', 'eu-central-1'], KEY);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(InvalidInputError);
    expect(failure).toMatchObject({ code: 'ManifestInvalid', retryable: false });
    const message = (failure as Error).message;
    expect(message).toContain(KEY);
    expect(message).toContain('regions names us-west-1, eu-central-1');
    expect(message).toContain('REGIONS configures cn-shanghai, cn-beijing');
    expect(message).toContain('the home region is cn-hangzhou');
  });

  it('says REGIONS is not set when a manifest asks for a region with none configured', () => {
    expect(() => selectRegionTargets([], 'cn-hangzhou', ['cn-shanghai'], KEY)).toThrow(/REGIONS is not set/);
  });

  it('refuses a REGIONS that lists the home region, quoting the entry', () => {
    expect(() => selectRegionTargets(CONFIGURED, 'cn-shanghai', undefined, KEY)).toThrow(ConfigError);
    expect(() => selectRegionTargets(CONFIGURED, 'cn-shanghai', undefined, KEY)).toThrow(
      /REGIONS entry "cn-shanghai=team-layers-sh" names cn-shanghai, the region of this function/,
    );
  });
});

describe('manifestRegionsField', () => {
  const schema = z.strictObject({ regions: manifestRegionsField });
  const issues = (value: unknown) => {
    const result = schema.safeParse(value, { reportInput: true });
    return result.success ? undefined : describeIssues(result.error.issues);
  };

  it('is optional, and takes a list of region ids', () => {
    expect(issues({})).toBeUndefined();
    expect(issues({ regions: [] })).toBeUndefined();
    expect(issues({ regions: ['cn-shanghai', 'ap-southeast-1'] })).toBeUndefined();
  });

  it.each([
    [{ regions: 'cn-shanghai' }, /^regions: must be an array/],
    [{ regions: ['cn-shanghai', 'Beijing'] }, /^regions\[1\]: must be a region id such as cn-shanghai/],
    [{ regions: ['cn-shanghai', 'cn-shanghai'] }, /^regions: lists a region more than once/],
  ])('%j fails naming the field', (value, message) => {
    expect(issues(value)).toMatch(message);
  });
});
