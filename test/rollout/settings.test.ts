import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ConfigError, InvalidInputError } from '../../src/errors';
import { parseManifest } from '../../src/manifest/manifest';
import { replaceLayer } from '../../src/rollout/layers';

/** ROLLOUT_FUNCTIONS, the manifest's `rollout` and `canary`, and the one rule of what a rollout writes. */
const KEY = 'layers/left-pad.layer.json';
const BASE = { layerName: 'left-pad', compatibleRuntime: ['nodejs20'] };

function manifestError(fields: object): string {
  try {
    parseManifest(new TextEncoder().encode(JSON.stringify({ ...BASE, ...fields })), KEY, '2023-03-30');
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).message;
  }
  throw new Error('the manifest was accepted');
}

describe('ROLLOUT_FUNCTIONS', () => {
  it('takes globs, optionally behind a key prefix; unset allows nothing', () => {
    const rules = loadConfig({ ROLLOUT_FUNCTIONS: 'api-*, layers/team-b/=worker-?' }).rolloutFunctions;
    expect(rules.map((rule) => [rule.keyPrefix, rule.pattern.test('api-users'), rule.pattern.test('worker-1'), rule.source])).toEqual([
      ['', true, false, 'api-*'],
      ['layers/team-b/', false, true, 'layers/team-b/=worker-?'],
    ]);
    expect(loadConfig({}).rolloutFunctions).toEqual([]);
  });

  it('a bad entry is an error naming the variable and the entry', () => {
    expect(() => loadConfig({ ROLLOUT_FUNCTIONS: 'api-*,api users' })).toThrow(ConfigError);
    expect(() => loadConfig({ ROLLOUT_FUNCTIONS: 'api-*,api users' })).toThrow('ROLLOUT_FUNCTIONS entry 2 ("api users") must be a function-name glob');
  });
});

describe('manifest rollout and canary', () => {
  it('accepts names and globs, or the same per region', () => {
    const parse = (fields: object) => parseManifest(new TextEncoder().encode(JSON.stringify({ ...BASE, ...fields })), KEY, '2023-03-30');
    expect(parse({ rollout: ['api-*', 'worker'], canary: { alias: 'prod', weight: 0.1 } })).toMatchObject({
      rollout: ['api-*', 'worker'],
      canary: { alias: 'prod', weight: 0.1 },
    });
    expect(parse({ rollout: { 'cn-hangzhou': ['api-*'], 'cn-shanghai': ['worker'] } }).rollout).toEqual({
      'cn-hangzhou': ['api-*'],
      'cn-shanghai': ['worker'],
    });
  });

  it('names the field at fault', () => {
    expect(manifestError({ rollout: ['api users'] })).toContain('rollout[0]: must be a function name or a glob on one');
    expect(manifestError({ rollout: [] })).toContain('rollout: must name at least one function');
    expect(manifestError({ rollout: ['api', 'api'] })).toContain('rollout: names a function more than once');
    expect(manifestError({ rollout: ['api'], canary: { alias: 'prod', weight: 1 } })).toContain('canary.weight: must be more than 0 and less than 1');
    expect(manifestError({ rollout: ['api'], canary: { alias: 'prod', weight: 0 } })).toContain('canary.weight');
    expect(manifestError({ rollout: ['api'], canary: { alias: '1prod', weight: 0.5 } })).toContain('canary.alias: must be an alias name');
    expect(manifestError({ canary: { alias: 'prod', weight: 0.5 } })).toContain('canary: canary needs rollout');
    expect(manifestError({ rollot: ['api'] })).toContain('rollot: is not a known field; did you mean rollout?');
  });
});

describe('replaceLayer', () => {
  const arn = (name: string, version: number) => `acs:fc:cn-hangzhou:1:layers/${name}/versions/${version}`;

  it('replaces any older version in place, keeps the rest in order, and drops a second entry of the same layer', () => {
    expect(replaceLayer([arn('a', 1), arn('x', 3), arn('b', 2)], 'x', arn('x', 4))).toEqual([arn('a', 1), arn('x', 4), arn('b', 2)]);
    expect(replaceLayer([arn('x', 1), arn('a', 1), arn('x', 2)], 'x', arn('x', 5))).toEqual([arn('x', 5), arn('a', 1)]);
    expect(replaceLayer(['0123abcd#x#3', arn('a', 1)], 'x', arn('x', 4))).toEqual([arn('x', 4), arn('a', 1)]);
    expect(replaceLayer([arn('xy', 1)], 'x', arn('x', 4))).toBeUndefined();
  });
});
