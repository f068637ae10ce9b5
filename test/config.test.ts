import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUDIT_PREFIX,
  DEFAULT_FC_API_VERSION,
  DEFAULT_MAX_ZIP_BYTES,
  loadConfig,
  parseAllowedLayers,
  parseRegions,
  type AllowRule,
} from '../src/config';
import { ConfigError } from '../src/errors';

/** A complete, valid environment; negative cases clone it and change one variable. */
const VALID_ENV: Readonly<Record<string, string>> = {
  OSS_ENDPOINT: 'http://127.0.0.1:9000',
  FC_ENDPOINT: 'https://1234567890123456.cn-hangzhou-internal.fc.aliyuncs.com',
  FC_API_VERSION: '2021-04-06',
  AUDIT_PREFIX: '_audit/',
  MAX_ZIP_BYTES: '1048576',
  ALLOWED_LAYERS: 'team-a-*',
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tExampleKeyId',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'ExampleSecretValue0123456789',
  ALIBABA_CLOUD_SECURITY_TOKEN: 'CAISExampleToken==',
  FC_ACCOUNT_ID: '1234567890123456',
  FC_REGION: 'cn-hangzhou',
};

function withEnv(changes: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...VALID_ENV, ...changes };
}

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, loadConfig returned');
}

/** Does the rule let `name` be published from `key`? (prefix on the zip's key, glob on the whole name) */
function allows(rule: AllowRule, key: string, name: string): boolean {
  return key.startsWith(rule.keyPrefix) && rule.pattern.test(name);
}

describe('loadConfig defaults (docs/contract.md §2)', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.ossEndpoint).toBeUndefined();
    expect(config.fcEndpoint).toBeUndefined();
    expect(config.fcApiVersion).toBe('2021-04-06');
    expect(config.auditPrefix).toBe('_audit/');
    expect(config.maxZipBytes).toBe(524_288_000);
    expect(config.maxZipBytes).toBe(500 * 1024 * 1024);
    expect(config.allowedLayers).toEqual([]);
    expect(config.fallbackCredentials).toBeUndefined();
    expect(config.fallbackAccountId).toBeUndefined();
    expect(config.fallbackRegion).toBeUndefined();
  });

  it('the exported defaults are the documented ones', () => {
    expect(DEFAULT_FC_API_VERSION).toBe('2021-04-06');
    expect(DEFAULT_AUDIT_PREFIX).toBe('_audit/');
    expect(DEFAULT_MAX_ZIP_BYTES).toBe(524_288_000);
  });

  it.each(['', '   '])('a variable set to %j counts as unset', (blank) => {
    const config = loadConfig({
      OSS_ENDPOINT: blank,
      FC_ENDPOINT: blank,
      FC_API_VERSION: blank,
      AUDIT_PREFIX: blank,
      MAX_ZIP_BYTES: blank,
      ALLOWED_LAYERS: blank,
      FC_ACCOUNT_ID: blank,
      FC_REGION: blank,
    });
    expect(config).toMatchObject({
      ossEndpoint: undefined,
      fcEndpoint: undefined,
      fcApiVersion: '2021-04-06',
      auditPrefix: '_audit/',
      maxZipBytes: 524_288_000,
      allowedLayers: [],
      fallbackAccountId: undefined,
      fallbackRegion: undefined,
    });
  });

  it('reads process.env when no environment is given', () => {
    const saved = process.env.FC_API_VERSION;
    process.env.FC_API_VERSION = '2016-08-15';
    try {
      expect(loadConfig().fcApiVersion).toBe('2016-08-15');
    } finally {
      if (saved === undefined) delete process.env.FC_API_VERSION;
      else process.env.FC_API_VERSION = saved;
    }
  });
});

describe('loadConfig parses each variable (docs/contract.md §2)', () => {
  it('the valid environment parses in full', () => {
    const config = loadConfig(VALID_ENV);
    expect(config.ossEndpoint?.href).toBe('http://127.0.0.1:9000/');
    expect(config.ossEndpoint?.hostname).toBe('127.0.0.1');
    expect(config.ossEndpoint?.port).toBe('9000');
    expect(config.fcEndpoint?.hostname).toBe('1234567890123456.cn-hangzhou-internal.fc.aliyuncs.com');
    expect(config.fcEndpoint?.protocol).toBe('https:');
    expect(config.fcApiVersion).toBe('2021-04-06');
    expect(config.auditPrefix).toBe('_audit/');
    expect(config.maxZipBytes).toBe(1_048_576);
    expect(config.allowedLayers).toHaveLength(1);
    expect(config.fallbackCredentials).toEqual({
      accessKeyId: 'LTAI5tExampleKeyId',
      accessKeySecret: 'ExampleSecretValue0123456789',
      securityToken: 'CAISExampleToken==',
    });
    expect(config.fallbackAccountId).toBe('1234567890123456');
    expect(config.fallbackRegion).toBe('cn-hangzhou');
  });

  it.each(['https://oss-cn-hangzhou-internal.aliyuncs.com', 'http://localhost:9000', 'http://127.0.0.1:9000/', 'https://oss-cn-shanghai.aliyuncs.com:443'])(
    'OSS_ENDPOINT %s is accepted',
    (endpoint) => {
      const config = loadConfig(withEnv({ OSS_ENDPOINT: endpoint }));
      expect(config.ossEndpoint).toBeInstanceOf(URL);
      expect(config.ossEndpoint?.origin).toBe(new URL(endpoint).origin);
    },
  );

  it('surrounding whitespace is trimmed from an endpoint', () => {
    expect(loadConfig(withEnv({ FC_ENDPOINT: '  https://fc.example.com  ' })).fcEndpoint?.hostname).toBe('fc.example.com');
  });

  it.each(['2016-08-15', '2023-03-30'])('FC_API_VERSION %s is taken as given', (version) => {
    expect(loadConfig(withEnv({ FC_API_VERSION: version })).fcApiVersion).toBe(version);
  });

  it.each([
    ['1', 1],
    ['524288000', 524_288_000],
    [' 2048 ', 2048],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
  ])('MAX_ZIP_BYTES %j is %d bytes', (raw, bytes) => {
    expect(loadConfig(withEnv({ MAX_ZIP_BYTES: raw })).maxZipBytes).toBe(bytes);
  });

  it.each([
    [undefined, 3_145_728_000],
    ['', 3_145_728_000],
    [' 268435456 ', 268_435_456],
  ])('MAX_UNPACKED_BYTES %j is %d bytes (3000 MiB unset)', (raw, bytes) => {
    expect(loadConfig(withEnv({ MAX_UNPACKED_BYTES: raw })).maxUnpackedBytes).toBe(bytes);
  });

  it.each([
    ['_audit/', '_audit/'],
    ['_audit', '_audit/'],
    ['ops/_audit', 'ops/_audit/'],
    ['ops/_audit/', 'ops/_audit/'],
  ])('AUDIT_PREFIX %j becomes %j (always a folder: records must not sit beside the layers)', (raw, prefix) => {
    expect(loadConfig(withEnv({ AUDIT_PREFIX: raw })).auditPrefix).toBe(prefix);
  });

  it('FC_ACCOUNT_ID and FC_REGION are optional and independent', () => {
    const config = loadConfig(withEnv({ FC_ACCOUNT_ID: undefined }));
    expect(config.fallbackAccountId).toBeUndefined();
    expect(config.fallbackRegion).toBe('cn-hangzhou');
    expect(loadConfig(withEnv({ FC_REGION: undefined })).fallbackRegion).toBeUndefined();
  });
});

describe('configuration errors fail fast and name the variable (docs/contract.md §2)', () => {
  it.each([
    ['OSS_ENDPOINT', 'not a url'],
    ['OSS_ENDPOINT', 'oss-cn-hangzhou.aliyuncs.com'],
    ['OSS_ENDPOINT', 'ftp://127.0.0.1:9000'],
    ['OSS_ENDPOINT', 'http://127.0.0.1:9000/bucket'],
    ['OSS_ENDPOINT', 'http://127.0.0.1:9000?x=1'],
    ['OSS_ENDPOINT', 'http://user:pass@127.0.0.1:9000'],
    ['OSS_ENDPOINT', 'http://'],
    ['FC_ENDPOINT', 'not a url'],
    ['FC_ENDPOINT', 'file:///etc/passwd'],
    ['FC_ENDPOINT', 'https://fc.example.com/2021-04-06'],
  ])('%s=%j', (variable, value) => {
    const error = configError(withEnv({ [variable]: value }));
    expect(error.message).toContain(variable);
  });

  it.each(['abc', '1e6', '1.5', '-1', '0', '00', '10MB', '0x100', '9007199254740993', 'Infinity', 'NaN'])('MAX_ZIP_BYTES=%j', (value) => {
    const error = configError(withEnv({ MAX_ZIP_BYTES: value }));
    expect(error.message).toContain('MAX_ZIP_BYTES');
    expect(error.message).toContain(value);
  });

  it.each(['1GiB', '0', '-1', '1.5'])('MAX_UNPACKED_BYTES=%j', (value) => {
    const error = configError(withEnv({ MAX_UNPACKED_BYTES: value }));
    expect(error.message).toContain(`MAX_UNPACKED_BYTES must be a positive whole number of bytes, got ${JSON.stringify(value)}`);
  });

  it.each(['2021-4-6', 'v2021-04-06', '2021/04/06', '/2021-04-06', 'latest', '2021-04-06/', '2017-03-03', '2023-03-31'])('FC_API_VERSION=%j', (value) => {
    const error = configError(withEnv({ FC_API_VERSION: value }));
    expect(error.message).toContain('FC_API_VERSION');
    expect(error.message).toContain('one of 2021-04-06, 2023-03-30, 2016-08-15');
  });

  it.each(['/_audit/', '../_audit/', '_audit/../', './_audit', 'a/./b/'])('AUDIT_PREFIX=%j (not a relative key prefix)', (value) => {
    const error = configError(withEnv({ AUDIT_PREFIX: value }));
    expect(error.message).toContain('AUDIT_PREFIX');
  });

  // The error is logged by the handler before any secret is known to the logger: it must not quote one.
  it('an endpoint refused for carrying credentials does not echo the password', () => {
    const error = configError(withEnv({ OSS_ENDPOINT: 'http://admin:hunter2-p4ssw0rd@127.0.0.1:9000' }));
    expect(error.message).toContain('OSS_ENDPOINT');
    expect(error.message).not.toContain('hunter2-p4ssw0rd');
  });

  it('ALLOWED_LAYERS with a bad entry names the variable and the entry', () => {
    const error = configError(withEnv({ ALLOWED_LAYERS: 'team-a-*,team b' }));
    expect(error.message).toContain('ALLOWED_LAYERS');
    expect(error.message).toContain('team b');
  });
});

describe('fallback credentials (docs/contract.md §2)', () => {
  it('id and secret make credentials; the token is optional', () => {
    const config = loadConfig(withEnv({ ALIBABA_CLOUD_SECURITY_TOKEN: undefined }));
    expect(config.fallbackCredentials).toEqual({
      accessKeyId: 'LTAI5tExampleKeyId',
      accessKeySecret: 'ExampleSecretValue0123456789',
      securityToken: undefined,
    });
  });

  it('none of the three gives no fallback credentials', () => {
    const config = loadConfig(
      withEnv({
        ALIBABA_CLOUD_ACCESS_KEY_ID: undefined,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined,
        ALIBABA_CLOUD_SECURITY_TOKEN: undefined,
      }),
    );
    expect(config.fallbackCredentials).toBeUndefined();
  });

  it.each([
    ['ALIBABA_CLOUD_ACCESS_KEY_ID', undefined],
    ['ALIBABA_CLOUD_ACCESS_KEY_ID', ''],
    ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', undefined],
    ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', '  '],
  ])('%s=%j without its pair fails and names both variables', (variable, value) => {
    const error = configError(withEnv({ [variable]: value }));
    expect(error.message).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    expect(error.message).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  });

  it('a token alone is no credentials', () => {
    const config = loadConfig({ ALIBABA_CLOUD_SECURITY_TOKEN: 'CAISExampleToken==' });
    expect(config.fallbackCredentials).toBeUndefined();
  });

  it('a configuration error never quotes the secret', () => {
    const error = configError(withEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: undefined }));
    expect(error.message).not.toContain(VALID_ENV.ALIBABA_CLOUD_ACCESS_KEY_SECRET);
  });
});

describe('ALLOWED_LAYERS grammar (docs/contract.md §2)', () => {
  it.each([undefined, '', '  '])('%j allows any valid name: no rules', (raw) => {
    expect(parseAllowedLayers(raw)).toEqual([]);
  });

  it('a bare glob applies everywhere', () => {
    const [rule] = parseAllowedLayers('team-a-*');
    expect(rule).toBeDefined();
    expect(rule!.keyPrefix).toBe('');
    expect(rule!.source).toBe('team-a-*');
    expect(allows(rule!, 'layers/x.zip', 'team-a-pillow')).toBe(true);
    expect(allows(rule!, 'anywhere/else/x.zip', 'team-a-')).toBe(true);
    expect(allows(rule!, 'layers/x.zip', 'team-b-pillow')).toBe(false);
  });

  it('a glob is anchored at both ends', () => {
    const [rule] = parseAllowedLayers('team-a-*');
    expect(rule!.pattern.test('xteam-a-1')).toBe(false);
    const [exact] = parseAllowedLayers('pillow');
    expect(exact!.pattern.test('pillow')).toBe(true);
    expect(exact!.pattern.test('pillow-10')).toBe(false);
    expect(exact!.pattern.test('my-pillow')).toBe(false);
  });

  it('<key prefix>=<glob> limits the glob to zips under the prefix', () => {
    const [rule] = parseAllowedLayers('layers/team-a/=team-a-*');
    expect(rule!.keyPrefix).toBe('layers/team-a/');
    expect(rule!.source).toBe('layers/team-a/=team-a-*');
    expect(allows(rule!, 'layers/team-a/pillow.zip', 'team-a-pillow')).toBe(true);
    expect(allows(rule!, 'layers/team-b/pillow.zip', 'team-a-pillow')).toBe(false);
    expect(allows(rule!, 'layers/team-a/pillow.zip', 'team-b-pillow')).toBe(false);
  });

  it('an entry "=glob" has an empty prefix and applies everywhere', () => {
    const [rule] = parseAllowedLayers('=team-a-*');
    expect(rule!.keyPrefix).toBe('');
    expect(rule!.pattern.test('team-a-x')).toBe(true);
  });

  it('* is any run of characters, including none', () => {
    const [rule] = parseAllowedLayers('a*z');
    for (const name of ['az', 'abz', 'a-b_c-z', 'a_____z']) expect(rule!.pattern.test(name), name).toBe(true);
    for (const name of ['a', 'za', 'azx', 'bz']) expect(rule!.pattern.test(name), name).toBe(false);
    expect(parseAllowedLayers('*')[0]!.pattern.test('Anything_At-All')).toBe(true);
  });

  it('? is exactly one character', () => {
    const [rule] = parseAllowedLayers('team-?');
    expect(rule!.pattern.test('team-a')).toBe(true);
    expect(rule!.pattern.test('team-_')).toBe(true);
    expect(rule!.pattern.test('team-')).toBe(false);
    expect(rule!.pattern.test('team-ab')).toBe(false);
    const [two] = parseAllowedLayers('v??');
    expect(two!.pattern.test('v10')).toBe(true);
    expect(two!.pattern.test('v1')).toBe(false);
    expect(two!.pattern.test('v100')).toBe(false);
  });

  it('- and _ in a glob are literal', () => {
    const [rule] = parseAllowedLayers('a-b_c');
    expect(rule!.pattern.test('a-b_c')).toBe(true);
    expect(rule!.pattern.test('aXb_c')).toBe(false);
    expect(rule!.pattern.test('a-bXc')).toBe(false);
  });

  it('entries are comma-separated and whitespace around entries, prefixes and globs is ignored', () => {
    const rules = parseAllowedLayers(' team-a-* ,  layers/b/ = b-*  ,\tc?');
    expect(rules.map((rule) => rule.keyPrefix)).toEqual(['', 'layers/b/', '']);
    expect(rules.map((rule) => rule.source)).toEqual(['team-a-*', 'layers/b/ = b-*', 'c?']);
    expect(rules[0]!.pattern.test('team-a-1')).toBe(true);
    expect(rules[1]!.pattern.test('b-1')).toBe(true);
    expect(rules[2]!.pattern.test('c1')).toBe(true);
  });

  it('the first = splits prefix from glob: a later = belongs to the glob (and is refused there)', () => {
    expect(() => parseAllowedLayers('layers/a=b/=team-*')).toThrow(ConfigError);
    try {
      parseAllowedLayers('layers/a=b/=team-*');
    } catch (error) {
      expect((error as Error).message).toContain('layers/a=b/=team-*');
    }
  });

  it('a prefix may hold any key characters (only the glob is constrained)', () => {
    const [rule] = parseAllowedLayers('layers/团队 shared+v1/=util-*');
    expect(rule!.keyPrefix).toBe('layers/团队 shared+v1/');
    expect(allows(rule!, 'layers/团队 shared+v1/util layer.zip', 'util-1')).toBe(true);
  });

  it('the prefix is compared, not globbed: * in a prefix is a literal character', () => {
    const [rule] = parseAllowedLayers('layers/*/=x');
    expect(rule!.keyPrefix).toBe('layers/*/');
    expect(allows(rule!, 'layers/team-a/x.zip', 'x')).toBe(false);
  });

  it.each([
    ['team b', 2, 'team-a-*,team b'],
    ['team.a', 1, 'team.a'],
    ['layers/team-a/=', 1, 'layers/team-a/='],
    ['team-a-[0-9]', 2, 'x,team-a-[0-9]'],
    ['team-a/*', 1, 'team-a/*'],
    ['a+b', 3, 'x,y,a+b'],
    ['p/=a=b', 1, 'p/=a=b'],
  ])('a bad entry %j is refused, naming the entry', (entry, position, raw) => {
    try {
      parseAllowedLayers(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('ALLOWED_LAYERS');
      expect(message).toContain(JSON.stringify(entry));
      expect(message).toContain(`entry ${position}`);
      return;
    }
    throw new Error('expected a ConfigError');
  });

  it('an empty entry between commas is refused rather than silently allowing everything', () => {
    expect(() => parseAllowedLayers('team-a-*,,team-b-*')).toThrow(ConfigError);
  });

  it('loadConfig passes ALLOWED_LAYERS through the same grammar', () => {
    const config = loadConfig(withEnv({ ALLOWED_LAYERS: 'layers/a/=a-*,b-?' }));
    expect(config.allowedLayers.map((rule) => [rule.keyPrefix, rule.source])).toEqual([
      ['layers/a/', 'layers/a/=a-*'],
      ['', 'b-?'],
    ]);
  });
});

describe('OSS_SIGNATURE (docs/contract.md §2)', () => {
  it('is V4 when unset or blank: new accounts and new buckets take no V1', () => {
    expect(loadConfig({}).ossSignature).toBe('v4');
    expect(loadConfig(withEnv({ OSS_SIGNATURE: '  ' })).ossSignature).toBe('v4');
  });

  it.each([
    ['v4', 'v4'],
    ['v1', 'v1'],
    [' V1 ', 'v1'],
    ['V4', 'v4'],
  ])('OSS_SIGNATURE=%j is %s', (raw, signature) => {
    expect(loadConfig(withEnv({ OSS_SIGNATURE: raw })).ossSignature).toBe(signature);
  });

  it.each(['v2', 'V3', '4', 'OSS4-HMAC-SHA256', 'true', 'v1,v4'])('OSS_SIGNATURE=%j fails naming the variable and the choices', (value) => {
    const error = configError(withEnv({ OSS_SIGNATURE: value }));
    expect(error.message).toContain('OSS_SIGNATURE');
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toMatch(/v4.*v1/);
  });
});

describe('REGIONS', () => {
  it('is no other region when unset or blank', () => {
    expect(loadConfig({}).regions).toEqual([]);
    expect(loadConfig(withEnv({ REGIONS: ' ' })).regions).toEqual([]);
  });

  it('maps each region to the bucket holding its staged copies, in the order written', () => {
    expect(loadConfig(withEnv({ REGIONS: 'cn-shanghai=team-layers-sh, cn-beijing = team-layers-bj' })).regions).toEqual([
      { region: 'cn-shanghai', bucket: 'team-layers-sh', source: 'cn-shanghai=team-layers-sh' },
      { region: 'cn-beijing', bucket: 'team-layers-bj', source: 'cn-beijing = team-layers-bj' },
    ]);
    expect(parseRegions('ap-southeast-1=layers-sg,cn-shanghai-finance-1=layers-fin').map((t) => t.region)).toEqual(['ap-southeast-1', 'cn-shanghai-finance-1']);
  });

  it.each([
    ['cn-shanghai', /entry 1 \("cn-shanghai"\) must be <region>=<bucket>/],
    ['Shanghai=team-layers-sh', /entry 1 \("Shanghai=team-layers-sh"\): "Shanghai" is not a region id/],
    ['oss-cn-shanghai=team-layers-sh', /"oss-cn-shanghai" is not a region id such as cn-shanghai \(without the oss- prefix: cn-shanghai\)/],
    ['cn-shanghai=team-layers-sh,cn-beijing=Team_Layers', /entry 2 \("cn-beijing=Team_Layers"\): "Team_Layers" is not an OSS bucket name/],
    ['cn-shanghai=', /entry 1 \("cn-shanghai="\): "" is not an OSS bucket name/],
    ['cn-shanghai=a-b,cn-beijing=b-c,cn-shanghai=c-d', /entry 3 \("cn-shanghai=c-d"\) names cn-shanghai again \(entry 1\)/],
    ['cn-shanghai=team-layers-sh,,cn-beijing=team-layers-bj', /REGIONS entry 2 is empty/],
    ['cn-shanghai=team-layers-sh,', /REGIONS entry 2 is empty/],
  ])('REGIONS=%j fails naming the variable and the entry', (raw, message) => {
    const error = configError(withEnv({ REGIONS: raw }));
    expect(error.message).toContain('REGIONS');
    expect(error.message).toMatch(message);
  });

  it('REGION_OSS_ENDPOINTS and REGION_FC_ENDPOINTS give a region its own endpoints; the others keep the public ones', () => {
    const [shanghai, beijing] = loadConfig(
      withEnv({
        REGIONS: 'cn-shanghai=team-layers-sh,cn-beijing=team-layers-bj',
        REGION_OSS_ENDPOINTS: 'cn-shanghai=http://127.0.0.1:9010',
        REGION_FC_ENDPOINTS: ' cn-shanghai = http://127.0.0.1:9011 , cn-beijing=https://fc-bj.example.com',
      }),
    ).regions;
    expect(shanghai!.ossEndpoint?.href).toBe('http://127.0.0.1:9010/');
    expect(shanghai!.fcEndpoint?.href).toBe('http://127.0.0.1:9011/');
    expect(beijing!.ossEndpoint).toBeUndefined();
    expect(beijing!.fcEndpoint?.href).toBe('https://fc-bj.example.com/');
  });

  it.each([
    ['REGION_OSS_ENDPOINTS', 'cn-shanghai', /REGION_OSS_ENDPOINTS entry 1 must be <region>=<url>/],
    [
      'REGION_OSS_ENDPOINTS',
      'cn-hangzhou=http://127.0.0.1:1',
      /REGION_OSS_ENDPOINTS entry 1 names "cn-hangzhou", which is not a region of REGIONS \(REGIONS names cn-shanghai\)/,
    ],
    ['REGION_FC_ENDPOINTS', 'cn-shanghai=http://a,cn-shanghai=http://b', /REGION_FC_ENDPOINTS entry 2 names cn-shanghai again/],
    ['REGION_FC_ENDPOINTS', 'cn-shanghai=ftp://a', /REGION_FC_ENDPOINTS entry 1 \(cn-shanghai\) must start with http:\/\/ or https:\/\//],
    ['REGION_FC_ENDPOINTS', 'cn-shanghai=', /REGION_FC_ENDPOINTS entry 1 \(cn-shanghai\) has no URL/],
  ])('%s=%j fails naming the entry', (name, raw, message) => {
    expect(configError(withEnv({ REGIONS: 'cn-shanghai=team-layers-sh', [name]: raw })).message).toMatch(message);
  });
});
