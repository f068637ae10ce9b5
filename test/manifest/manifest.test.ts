import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors';
import { FC3_RUNTIMES, MAX_MANIFEST_BYTES, RUNTIMES, parseManifest, type Manifest } from '../../src/manifest/manifest';

const KEY = 'layers/pillow-10.layer.json';
const FIXTURE_BYTES = new Uint8Array(readFileSync(new URL('./fixtures/pillow-10.layer.json', import.meta.url)));
const VALID: Readonly<Record<string, unknown>> = Object.freeze(JSON.parse(Buffer.from(FIXTURE_BYTES).toString('utf8')));

/** The docs/contract.md §4 runtime list, written out here rather than imported, so a change to the module shows. */
const CONTRACT_RUNTIMES = [
  'nodejs20',
  'nodejs18',
  'nodejs16',
  'nodejs14',
  'nodejs12',
  'nodejs10',
  'nodejs8',
  'nodejs6',
  'python3.10',
  'python3.9',
  'python3',
  'python2.7',
  'java11',
  'java8',
  'php7.2',
  'go1',
  'dotnetcore3.1',
  'dotnetcore2.1',
  'custom.debian10',
  'custom',
];

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const bytesOf = (value: unknown): Uint8Array => encode(JSON.stringify(value));

/** A valid manifest with one field changed (undefined removes it). */
function withField(field: string, value: unknown): Record<string, unknown> {
  const clone: Record<string, unknown> = structuredClone({ ...VALID });
  if (value === undefined) delete clone[field];
  else clone[field] = value;
  return clone;
}

function parseError(bytes: Uint8Array, key = KEY): InvalidInputError {
  try {
    parseManifest(bytes, key);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected parseManifest to throw, it returned');
}

function invalid(bytes: Uint8Array): InvalidInputError {
  const error = parseError(bytes);
  expect(error.code).toBe('ManifestInvalid');
  expect(error.retryable).toBe(false);
  return error;
}

describe('the shared fixture', () => {
  it('pillow-10.layer.json is valid and parses to its fields', () => {
    expect(parseManifest(FIXTURE_BYTES, KEY)).toEqual({
      layerName: 'pillow-10',
      description: 'Pillow 10 for Python 3.10',
      compatibleRuntime: ['python3.10', 'python3.9'],
    });
  });

  it('is the 141-byte object the put-manifest event describes (size and MD5 ETag)', () => {
    expect(FIXTURE_BYTES.byteLength).toBe(141);
    expect(createHash('md5').update(FIXTURE_BYTES).digest('hex').toUpperCase()).toBe('3BF796413B23CF0DAAB64A072211B3AC');
  });
});

describe('layerName (docs/contract.md §4)', () => {
  it.each(['a', 'A', '_', 'pillow-10', 'My_Layer-2', '_private', 'Z9', 'a-', 'a_'])('%j is accepted', (name) => {
    expect(parseManifest(bytesOf(withField('layerName', name)), KEY).layerName).toBe(name);
  });

  it('128 characters is accepted', () => {
    const name = `L${'x'.repeat(127)}`;
    expect(parseManifest(bytesOf(withField('layerName', name)), KEY).layerName).toBe(name);
  });

  it('129 characters is refused', () => {
    const error = invalid(bytesOf(withField('layerName', `L${'x'.repeat(128)}`)));
    expect(error.message).toContain('layerName');
  });

  it.each([
    ['empty', ''],
    ['starts with a digit', '1layer'],
    ['starts with -', '-layer'],
    ['a dot', 'pillow.10'],
    ['a space', 'pillow 10'],
    ['a slash', 'team/pillow'],
    ['a colon', 'acs:layer'],
    ['non-ASCII letters', 'слой'],
    ['CJK', '图层'],
    ['an accented letter', 'café'],
    ['a trailing newline', 'pillow\n'],
    ['a leading space', ' pillow'],
    ['a NUL', 'pillow\u0000'],
  ])('%s is refused and the message names layerName', (_, name) => {
    const error = invalid(bytesOf(withField('layerName', name)));
    expect(error.message).toMatch(/\blayerName: /);
  });

  it.each([
    ['missing', undefined, /layerName: is required/],
    ['a number', 10, /layerName: must be a string/],
    ['null', null, /layerName: must be a string/],
    ['an array', ['pillow'], /layerName: must be a string/],
  ])('%s is refused', (_, value, message) => {
    expect(invalid(bytesOf(withField('layerName', value))).message).toMatch(message);
  });
});

describe('description (docs/contract.md §4)', () => {
  it('is optional', () => {
    const manifest = parseManifest(bytesOf(withField('description', undefined)), KEY);
    expect(manifest).toEqual({ layerName: 'pillow-10', compatibleRuntime: ['python3.10', 'python3.9'] });
    expect('description' in manifest).toBe(false);
  });

  it('may be empty', () => {
    expect(parseManifest(bytesOf(withField('description', '')), KEY).description).toBe('');
  });

  it('256 characters is accepted', () => {
    const text = 'd'.repeat(256);
    expect(parseManifest(bytesOf(withField('description', text)), KEY).description).toBe(text);
  });

  it('257 characters is refused, naming description and the limit', () => {
    const error = invalid(bytesOf(withField('description', 'd'.repeat(257))));
    expect(error.message).toMatch(/\bdescription: /);
    expect(error.message).toContain('256');
  });

  it('characters, not UTF-8 bytes: 256 CJK characters (768 bytes) are accepted', () => {
    const text = '层'.repeat(256);
    expect(parseManifest(bytesOf(withField('description', text)), KEY).description).toBe(text);
  });

  it('characters, not UTF-16 units: 256 astral characters are accepted, 257 refused', () => {
    const ok = '😀'.repeat(256);
    expect(parseManifest(bytesOf(withField('description', ok)), KEY).description).toBe(ok);
    expect(invalid(bytesOf(withField('description', '😀'.repeat(257)))).message).toMatch(/\bdescription: /);
  });

  it.each([null, 5, ['a'], { text: 'a' }])('%j is refused (must be a string)', (value) => {
    expect(invalid(bytesOf(withField('description', value))).message).toMatch(/\bdescription: must be a string/);
  });
});

describe('compatibleRuntime (docs/contract.md §4)', () => {
  it('the module lists exactly the CONTRACT runtimes', () => {
    expect([...RUNTIMES].sort()).toEqual([...CONTRACT_RUNTIMES].sort());
  });

  it.each(CONTRACT_RUNTIMES)('%s alone is accepted', (runtime) => {
    expect(parseManifest(bytesOf(withField('compatibleRuntime', [runtime])), KEY).compatibleRuntime).toEqual([runtime]);
  });

  it('all twenty together are accepted, in the order given', () => {
    const reversed = [...CONTRACT_RUNTIMES].reverse();
    expect(parseManifest(bytesOf(withField('compatibleRuntime', reversed)), KEY).compatibleRuntime).toEqual(reversed);
  });

  it('is required', () => {
    expect(invalid(bytesOf(withField('compatibleRuntime', undefined))).message).toMatch(/compatibleRuntime: is required/);
  });

  it('an empty array is refused', () => {
    expect(invalid(bytesOf(withField('compatibleRuntime', []))).message).toMatch(/\bcompatibleRuntime: /);
  });

  it('a near miss of a known runtime is refused, naming its index and what was meant', () => {
    const error = invalid(bytesOf(withField('compatibleRuntime', ['python3.10', 'pyhton3.10'])));
    expect(error.message).toContain('compatibleRuntime[1]: "pyhton3.10" is not a runtime; did you mean "python3.10"?');
    expect(error.message).not.toContain('compatibleRuntime[0]');
  });

  it.each([
    ['nodjs20', 'nodejs20'],
    ['python3.1O', 'python3.10'],
    ['Python3.10', 'python3.10'],
    ['nodejs 20', 'nodejs20'],
    [' nodejs20', 'nodejs20'],
    ['nodejs20 ', 'nodejs20'],
    ['node20', 'nodejs20'],
    ['nodejs20.x', 'nodejs20'],
    ['go1.x', 'go1'],
    ['custom.debain10', 'custom.debian10'],
  ])('%j is refused: did you mean %j?', (runtime, meant) => {
    const error = invalid(bytesOf(withField('compatibleRuntime', ['custom', runtime])));
    expect(error.message).toContain(`compatibleRuntime[1]: ${JSON.stringify(runtime)} is not a runtime; did you mean ${JSON.stringify(meant)}?`);
  });

  it.each(['', 'no such runtime', 'x'.repeat(65), 'nodejs/20'])('%j is not a runtime id at all', (runtime) => {
    expect(invalid(bytesOf(withField('compatibleRuntime', ['custom', runtime]))).message).toMatch(/compatibleRuntime\[1\]: .* is not a runtime/);
  });

  it.each(['nodejs22', 'python3.13', 'java25', 'php8.1', 'custom.debian13', 'ruby3.2', 'dotnet8'])(
    'an unknown runtime shaped like one (%s) is accepted, for Function Compute to judge',
    (runtime) => {
      expect(parseManifest(bytesOf(withField('compatibleRuntime', [runtime])), KEY).compatibleRuntime).toEqual([runtime]);
    },
  );

  it('FC 3.0 (2023-03-30) knows its longer list, so near misses of its new runtimes are caught there only', () => {
    expect(FC3_RUNTIMES).toEqual(expect.arrayContaining([...RUNTIMES, 'python3.12', 'java17', 'java21', 'custom.debian11', 'custom.debian12']));
    const all = bytesOf(withField('compatibleRuntime', [...FC3_RUNTIMES]));
    expect(parseManifest(all, KEY, '2023-03-30').compatibleRuntime).toEqual([...FC3_RUNTIMES]);
    const typo = bytesOf(withField('compatibleRuntime', ['custom.debain12']));
    expect(parseManifest(typo, KEY, '2021-04-06').compatibleRuntime).toEqual(['custom.debain12']);
    expect(() => parseManifest(typo, KEY, '2023-03-30')).toThrow(/did you mean "custom\.debian12"\?/);
  });

  it('a runtime listed twice is refused', () => {
    const error = invalid(bytesOf(withField('compatibleRuntime', ['python3.10', 'python3.9', 'python3.10'])));
    expect(error.message).toMatch(/\bcompatibleRuntime\b/);
  });

  it.each([
    ['a string', 'python3.10'],
    ['null', null],
    ['an object', { 0: 'python3.10' }],
  ])('%s instead of an array is refused', (_, value) => {
    expect(invalid(bytesOf(withField('compatibleRuntime', value))).message).toMatch(/compatibleRuntime: must be an array/);
  });

  it('a non-string item is refused, naming its index', () => {
    expect(invalid(bytesOf(withField('compatibleRuntime', ['custom', 'go1', 3]))).message).toContain('compatibleRuntime[2]');
  });
});

describe('license (docs/contract.md §4)', () => {
  it('is optional, a string, and kept', () => {
    expect(parseManifest(bytesOf(VALID), KEY).license).toBeUndefined();
    expect(parseManifest(bytesOf(withField('license', 'Apache-2.0')), KEY).license).toBe('Apache-2.0');
  });

  it('anything but a string is refused, naming it', () => {
    expect(invalid(bytesOf(withField('license', 2))).message).toMatch(/license: must be a string/);
  });
});

describe('unknown fields are an error (docs/contract.md §4)', () => {
  it.each(['compatibleRuntimes', 'Description', 'LayerName', 'layer_name', 'runtime', 'code', 'version'])('%j is refused and the message names it', (field) => {
    const manifest = { ...VALID, [field]: 'x' };
    const error = invalid(bytesOf(manifest));
    expect(error.message).toContain(field);
    expect(error.message).toMatch(new RegExp(`\\b${field}: is not a known field`));
  });

  it.each([
    ['descripton', 'description'],
    ['licence', 'license'],
    ['layername', 'layerName'],
    ['compatibleRuntimes', 'compatibleRuntime'],
  ])('a misspelt field (%s) is refused: did you mean %s?', (typo, meant) => {
    expect(invalid(bytesOf({ ...VALID, [typo]: 'x' })).message).toContain(`${typo}: is not a known field; did you mean ${meant}?`);
  });

  it('a typo of a required field names both the typo and the missing field', () => {
    const { compatibleRuntime, ...rest } = VALID;
    const error = invalid(bytesOf({ ...rest, compatibleRuntimes: compatibleRuntime }));
    expect(error.message).toContain('compatibleRuntimes: is not a known field');
    expect(error.message).toContain('compatibleRuntime: is required');
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype'])('an own key %j (as JSON.parse makes it) is refused', (field) => {
    const text = `{"layerName":"pillow-10","compatibleRuntime":["python3.10"],${JSON.stringify(field)}:{"layerName":"other"}}`;
    const error = invalid(encode(text));
    expect(error.message).toContain(field);
  });

  it('a __proto__ key does not pollute Object.prototype', () => {
    const text = '{"layerName":"pillow-10","compatibleRuntime":["python3.10"],"__proto__":{"polluted":true}}';
    expect(() => parseManifest(encode(text), KEY)).toThrow(InvalidInputError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the bytes (docs/contract.md §4)', () => {
  it('a leading UTF-8 byte-order mark is accepted and ignored', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...FIXTURE_BYTES]);
    expect(parseManifest(withBom, KEY)).toEqual(parseManifest(FIXTURE_BYTES, KEY));
  });

  it('a byte-order mark inside the layer name is not ignored', () => {
    invalid(bytesOf(withField('layerName', '\uFEFFpillow')));
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xe5, 0x9b]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['Latin-1', [0xe9]],
  ])('invalid UTF-8 (%s) is refused', (_, bad) => {
    const text = encode('{"layerName":"pillow-10","compatibleRuntime":["python3.10"],"description":"X"}');
    const at = text.indexOf(0x58); // the X
    const bytes = new Uint8Array([...text.subarray(0, at), ...bad, ...text.subarray(at + 1)]);
    const error = invalid(bytes);
    expect(error.message).toContain(KEY);
    expect(error.message).toMatch(/UTF-8/);
  });

  it('UTF-16 with its own byte-order mark is not UTF-8 and is refused', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(VALID), 'utf16le')]);
    invalid(new Uint8Array(utf16));
  });

  it.each([
    ['nothing', ''],
    ['whitespace', ' \n\t '],
    ['a byte-order mark alone', '\uFEFF'],
    ['truncated JSON', '{"layerName":"pillow-10",'],
    ['a trailing comma', '{"layerName":"pillow-10","compatibleRuntime":["go1"],}'],
    ['single quotes', "{'layerName':'pillow-10','compatibleRuntime':['go1']}"],
    ['a comment', '{"layerName":"pillow-10", // x\n"compatibleRuntime":["go1"]}'],
    ['YAML', 'layerName: pillow-10\ncompatibleRuntime: [go1]\n'],
    ['two objects', '{"layerName":"a","compatibleRuntime":["go1"]}{}'],
  ])('not JSON (%s) is refused', (_, text) => {
    const error = invalid(encode(text));
    expect(error.message).toContain(KEY);
  });

  it.each([
    ['an array', '[{"layerName":"pillow-10","compatibleRuntime":["go1"]}]'],
    ['null', 'null'],
    ['a string', '"pillow-10"'],
    ['a number', '42'],
    ['true', 'true'],
  ])('JSON that is %s is refused', (_, text) => {
    const error = invalid(encode(text));
    expect(error.message).toContain(KEY);
    expect(error.message).toMatch(/JSON object/);
  });

  it('surrounding whitespace is fine', () => {
    expect(parseManifest(encode(`\n\n  ${JSON.stringify(VALID)}  \r\n`), KEY)).toEqual(VALID);
  });

  it('exactly 65,536 bytes (padded with whitespace) is accepted', () => {
    const json = JSON.stringify(VALID);
    const bytes = encode(json + ' '.repeat(65_536 - json.length));
    expect(bytes.byteLength).toBe(65_536);
    expect(MAX_MANIFEST_BYTES).toBe(65_536);
    expect(parseManifest(bytes, KEY)).toEqual(VALID);
  });

  it('exactly 65,536 bytes including a byte-order mark is accepted', () => {
    const json = JSON.stringify(VALID);
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encode(json + ' '.repeat(65_536 - 3 - json.length))]);
    expect(bytes.byteLength).toBe(65_536);
    expect(parseManifest(bytes, KEY)).toEqual(VALID);
  });

  it('65,537 bytes is ManifestTooLarge, naming the key, the size and the limit', () => {
    const json = JSON.stringify(VALID);
    const bytes = encode(json + ' '.repeat(65_537 - json.length));
    const error = parseError(bytes);
    expect(error.code).toBe('ManifestTooLarge');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(KEY);
    expect(error.message).toContain('65537');
    expect(error.message).toContain('65536');
    expect(error.context).toMatchObject({ key: KEY, size: 65_537, limit: 65_536 });
  });

  it('a too-large manifest is refused on size even when its bytes are garbage', () => {
    expect(parseError(new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0xff)).code).toBe('ManifestTooLarge');
  });

  it('a deeply nested value is refused, not a crash', () => {
    const depth = 20_000;
    const text = `{"layerName":"a","compatibleRuntime":["go1"],"description":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(invalid(encode(text)).message).toMatch(/\bdescription: /);
  });

  it('accepts a Uint8Array view into a larger buffer and reads only the view', () => {
    const backing = new Uint8Array(FIXTURE_BYTES.byteLength + 10).fill(0x7b); // '{'
    backing.set(FIXTURE_BYTES, 5);
    expect(parseManifest(backing.subarray(5, 5 + FIXTURE_BYTES.byteLength), KEY).layerName).toBe('pillow-10');
  });
});

describe('errors carry the key and every field at fault', () => {
  it('the key is in the message and the context', () => {
    const error = invalid(bytesOf(withField('layerName', '1')));
    expect(error.message).toContain(KEY);
    expect(error.context).toMatchObject({ key: KEY });
  });

  it('several faults are all reported', () => {
    const error = invalid(bytesOf({ layerName: '9', description: 'x'.repeat(300), compatibleRuntime: ['go1', 'nodjs20'], extra: 1 }));
    for (const field of ['layerName', 'description', 'compatibleRuntime[1]', 'extra']) expect(error.message).toContain(field);
  });

  it('the key is quoted as given, in unicode', () => {
    const key = 'layers/团队 shared+v1/util layer.layer.json';
    expect(parseError(encode('nope'), key).message).toContain(key);
  });
});

describe('properties', () => {
  const layerName = fc
    .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_'), fc.string({ unit: fc.constantFrom(...'abcXYZ0189_-'), maxLength: 127 }))
    .map(([first, rest]) => first + rest);
  const manifest: fc.Arbitrary<Manifest> = fc.record(
    {
      layerName,
      description: fc.string({ unit: 'grapheme-composite', maxLength: 256 }).filter((s) => [...s].length <= 256),
      compatibleRuntime: fc.uniqueArray(fc.constantFrom(...(CONTRACT_RUNTIMES as Manifest['compatibleRuntime'])), {
        minLength: 1,
        maxLength: CONTRACT_RUNTIMES.length,
      }),
      license: fc.string({ maxLength: 40 }),
    },
    { requiredKeys: ['layerName', 'compatibleRuntime'] },
  );

  it('any valid manifest round-trips', () => {
    fc.assert(
      fc.property(manifest, fc.boolean(), fc.boolean(), (value, pretty, bom) => {
        const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
        const bytes = encode(bom ? `\uFEFF${text}` : text);
        expect(parseManifest(bytes, KEY)).toEqual(value);
      }),
    );
  });

  it('any valid manifest with one extra key is refused, naming the key', () => {
    const known = new Set(['layerName', 'description', 'compatibleRuntime', 'license']);
    fc.assert(
      fc.property(
        manifest,
        fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !known.has(key)),
        fc.jsonValue(),
        (value, key, extra) => {
          const text = `${JSON.stringify(value).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(extra) ?? 'null'}}`;
          const error = invalid(encode(text));
          expect(error.message).toContain(`${key}: is not a known field`);
        },
      ),
    );
  });

  function onlyInvalidInput(bytes: Uint8Array): void {
    try {
      parseManifest(bytes, KEY);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(['ManifestInvalid', 'ManifestTooLarge']).toContain((error as InvalidInputError).code);
      expect((error as InvalidInputError).retryable).toBe(false);
    }
  }

  it('arbitrary bytes: parse returns or throws InvalidInputError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyInvalidInput));
  });

  it('arbitrary strings: parse returns or throws InvalidInputError, nothing else', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => onlyInvalidInput(encode(text))));
  });

  it('arbitrary JSON: parse returns or throws InvalidInputError, nothing else', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => onlyInvalidInput(encode(JSON.stringify(value) ?? 'null'))));
  });

  it('arbitrary objects shaped like a manifest: parse returns a valid manifest or throws InvalidInputError', () => {
    const anyField = fc.oneof(fc.jsonValue(), layerName, fc.array(fc.oneof(fc.constantFrom(...CONTRACT_RUNTIMES), fc.string())));
    fc.assert(
      fc.property(fc.record({ layerName: anyField, description: anyField, compatibleRuntime: anyField }, { requiredKeys: [] }), (value) => {
        let parsed: Manifest;
        try {
          parsed = parseManifest(bytesOf(value), KEY);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
          return;
        }
        expect(parsed).toEqual(value);
        expect(parsed.layerName).toMatch(/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/);
        expect(parsed.compatibleRuntime.length).toBeGreaterThan(0);
        expect(new Set(parsed.compatibleRuntime).size).toBe(parsed.compatibleRuntime.length);
      }),
    );
  });
});
