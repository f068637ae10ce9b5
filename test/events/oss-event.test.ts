import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventParseError, isCountedEvent, parseOssEvent, type OssRecord, type ParsedRecord } from '../../src/events/oss-event';
import { deleteField, setField } from '../support/malformed';

/** The OSS trigger events Function Compute delivers (test/events/fixtures), kept beside the test so CI needs nothing outside the repo. */
function fixtureText(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}
function fixtureBuffer(name: string): Buffer {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}
/** The fixtures hold records OSS sends: each is an OssRecord, what parseOssEvent makes of a valid one. */
function fixtureObject(name: string): { events: OssRecord[] } {
  return JSON.parse(fixtureText(name));
}

const COUNTED_FIXTURES = [
  ['put-zip.json', 'ObjectCreated:PutObject', 'layers/pillow-10.zip', '9B2CF535F27731C974343645A3985328', 1_048_576],
  ['post-zip.json', 'ObjectCreated:PostObject', 'layers/pillow-10.zip', '9B2CF535F27731C974343645A3985328', 1_048_576],
  ['multipart-zip.json', 'ObjectCreated:CompleteMultipartUpload', 'layers/big/numpy-2.zip', '3858F62230AC3C915F300C664312C63F-38', 314_572_800],
  ['put-manifest.json', 'ObjectCreated:PutObject', 'layers/pillow-10.layer.json', '3BF796413B23CF0DAAB64A072211B3AC', 141],
  ['put-unicode-key.json', 'ObjectCreated:PutObject', 'layers/团队 shared+v1/util layer.zip', '7215EE9C7D9DC229D2921A40E899EC5F', 2048],
  ['put-result-ignored.json', 'ObjectCreated:PutObject', 'layers/pillow-10.result.json', 'C4CA4238A0B923820DCC509A6F75849B', 512],
] as const;

function okRecords(parsed: ParsedRecord[]) {
  return parsed.map((entry) => {
    if (!entry.ok) throw new Error(`record ${entry.index} did not parse: ${entry.message}`);
    return entry.record;
  });
}

function parseError(raw: unknown): EventParseError {
  try {
    parseOssEvent(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(EventParseError);
    return error as EventParseError;
  }
  throw new Error('expected EventParseError, parseOssEvent returned');
}

/** One valid record, cloned; negative cases change one field of the clone. */
function validRecord(): OssRecord {
  return structuredClone(fixtureObject('put-zip.json').events[0]!);
}

function failedRecord(parsed: ParsedRecord[], index: number): Extract<ParsedRecord, { ok: false }> {
  const entry = parsed[index];
  expect(entry).toBeDefined();
  if (entry!.ok) throw new Error(`record ${index} parsed but should not have`);
  return entry as Extract<ParsedRecord, { ok: false }>;
}

describe('the shared fixtures', () => {
  it.each(COUNTED_FIXTURES)('%s parses (as FC hands it: a Buffer)', (file, eventName, key, eTag, size) => {
    const [record, ...rest] = okRecords(parseOssEvent(fixtureBuffer(file)));
    expect(rest).toEqual([]);
    expect(record!.eventName).toBe(eventName);
    expect(record!.eventTime).toBe('2026-11-20T08:15:42.000Z');
    expect(record!.region).toBe('cn-hangzhou');
    expect(record!.oss.bucket.name).toBe('team-layers');
    expect(record!.oss.object.key).toBe(key);
    expect(record!.oss.object.eTag).toBe(eTag);
    expect(record!.oss.object.size).toBe(size);
    expect(record!.responseElements?.requestId).toMatch(/^6743A1F2C0B3D4E5F60718[0-9A-F]{2}$/);
  });

  it('the unicode key is kept verbatim: not decoded, not normalised, + stays +', () => {
    const [record] = okRecords(parseOssEvent(fixtureBuffer('put-unicode-key.json')));
    expect(record!.oss.object.key).toBe('layers/\u56e2\u961f shared+v1/util layer.zip');
    expect(record!.oss.object.key).not.toContain('%');
  });

  it('a key with %-escapes is not URL-decoded', () => {
    const record = validRecord();
    record.oss.object.key = 'layers/a%20b%2Bc.zip';
    const [parsed] = okRecords(parseOssEvent({ events: [record] }));
    expect(parsed!.oss.object.key).toBe('layers/a%20b%2Bc.zip');
  });

  it('batch-two.json gives both records, in order', () => {
    const records = okRecords(parseOssEvent(fixtureBuffer('batch-two.json')));
    expect(records.map((record) => record.oss.object.key)).toEqual(['layers/a.zip', 'layers/b.layer.json']);
    expect(parseOssEvent(fixtureBuffer('batch-two.json')).map((entry) => entry.index)).toEqual([0, 1]);
  });

  it('delete-zip-ignored.json: the envelope parses and the record keeps its name and key, so it can be ignored', () => {
    // A real ObjectRemoved event carries an empty eTag; whether the record counts as well-formed or
    // not, its eventName and key must come through so the handler can ignore it without a request.
    const [entry, ...rest] = parseOssEvent(fixtureBuffer('delete-zip-ignored.json'));
    expect(rest).toEqual([]);
    const eventName = entry!.ok ? entry!.record.eventName : entry!.eventName;
    const key = entry!.ok ? entry!.record.oss.object.key : entry!.key;
    expect(eventName).toBe('ObjectRemoved:DeleteObject');
    expect(key).toBe('layers/pillow-10.zip');
    expect(isCountedEvent(eventName!)).toBe(false);
  });

  it('unknown fields of a record are tolerated and kept', () => {
    const [record] = okRecords(parseOssEvent(fixtureBuffer('put-zip.json')));
    expect((record as Record<string, unknown>).eventVersion).toBe('1.0');
    expect((record!.oss as Record<string, unknown>).ruleId).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    expect((record!.oss.object as Record<string, unknown>).deltaSize).toBe(1_048_576);
  });
});

describe('input forms (docs/contract.md §1)', () => {
  const expected = okRecords(parseOssEvent(fixtureBuffer('batch-two.json')));

  it('a Buffer, a string and an object give the same records', () => {
    expect(okRecords(parseOssEvent(fixtureText('batch-two.json')))).toEqual(expected);
    expect(okRecords(parseOssEvent(fixtureObject('batch-two.json')))).toEqual(expected);
  });

  it('a plain Uint8Array is read like a Buffer', () => {
    expect(okRecords(parseOssEvent(new Uint8Array(fixtureBuffer('batch-two.json'))))).toEqual(expected);
  });

  it('a Uint8Array view reads only its own bytes', () => {
    const bytes = fixtureBuffer('batch-two.json');
    const backing = Buffer.alloc(bytes.length + 20, 'x');
    bytes.copy(backing, 10);
    expect(okRecords(parseOssEvent(new Uint8Array(backing.buffer, backing.byteOffset + 10, bytes.length)))).toEqual(expected);
    expect(okRecords(parseOssEvent(backing.subarray(10, 10 + bytes.length)))).toEqual(expected);
  });

  it('a leading byte-order mark is ignored in a Buffer and a string', () => {
    const text = fixtureText('batch-two.json');
    expect(okRecords(parseOssEvent(`\uFEFF${text}`))).toEqual(expected);
    expect(okRecords(parseOssEvent(Buffer.from(`\uFEFF${text}`, 'utf8')))).toEqual(expected);
  });

  it('an empty events array is no records', () => {
    expect(parseOssEvent('{"events":[]}')).toEqual([]);
    expect(parseOssEvent({ events: [] })).toEqual([]);
  });

  it('unknown envelope fields are tolerated', () => {
    expect(okRecords(parseOssEvent({ ...fixtureObject('put-zip.json'), other: 1 }))).toHaveLength(1);
  });

  it('optional fields may be absent (a hand-written replay)', () => {
    const record = validRecord();
    delete record.eventTime;
    delete record.eventSource;
    delete record.region;
    delete record.responseElements;
    delete record.oss.bucket.arn;
    const [parsed] = okRecords(parseOssEvent({ events: [record] }));
    expect(parsed!.eventTime).toBeUndefined();
    expect(parsed!.oss.object.key).toBe('layers/pillow-10.zip');
  });
});

describe('a bad record among good ones', () => {
  it.each([
    ['the eTag is missing', (r: OssRecord) => deleteField(r.oss.object, 'eTag'), 'events[1].oss.object.eTag'],
    ['the eTag is a number', (r: OssRecord) => setField(r.oss.object, 'eTag', 42), 'events[1].oss.object.eTag'],
    ['the eTag is empty', (r: OssRecord) => (r.oss.object.eTag = ''), 'events[1].oss.object.eTag'],
    ['the key is missing', (r: OssRecord) => deleteField(r.oss.object, 'key'), 'events[1].oss.object.key'],
    ['the key is empty', (r: OssRecord) => (r.oss.object.key = ''), 'events[1].oss.object.key'],
    ['the key is over 1023 characters', (r: OssRecord) => (r.oss.object.key = `${'k'.repeat(1024)}.zip`), 'events[1].oss.object.key'],
    ['the size is a string', (r: OssRecord) => setField(r.oss.object, 'size', '1048576'), 'events[1].oss.object.size'],
    ['the size is negative', (r: OssRecord) => (r.oss.object.size = -1), 'events[1].oss.object.size'],
    ['the size is fractional', (r: OssRecord) => (r.oss.object.size = 1.5), 'events[1].oss.object.size'],
    ['the bucket name is missing', (r: OssRecord) => deleteField(r.oss.bucket, 'name'), 'events[1].oss.bucket.name'],
    ['the bucket name is upper-case', (r: OssRecord) => (r.oss.bucket.name = 'Team-Layers'), 'events[1].oss.bucket.name'],
    ['the bucket is missing', (r: OssRecord) => deleteField(r.oss, 'bucket'), 'events[1].oss.bucket'],
    ['oss is missing', (r: OssRecord) => deleteField(r, 'oss'), 'events[1].oss'],
    ['the object is null', (r: OssRecord) => setField(r.oss, 'object', null), 'events[1].oss.object'],
    ['eventName is missing', (r: OssRecord) => deleteField(r, 'eventName'), 'events[1].eventName'],
    ['eventName is empty', (r: OssRecord) => (r.eventName = ''), 'events[1].eventName'],
    ['eventTime is a number', (r: OssRecord) => setField(r, 'eventTime', 1), 'events[1].eventTime'],
  ])('%s: that record is reported with its path and the others parse', (_, change, path) => {
    const good = validRecord();
    const bad = validRecord();
    change(bad);
    const third = validRecord();
    third.oss.object.key = 'layers/third.layer.json';
    const parsed = parseOssEvent(Buffer.from(JSON.stringify({ events: [good, bad, third] })));
    expect(parsed).toHaveLength(3);
    expect(parsed[0]!.ok).toBe(true);
    expect(parsed[2]!.ok).toBe(true);
    if (parsed[2]!.ok) expect(parsed[2]!.record.oss.object.key).toBe('layers/third.layer.json');
    const failed = failedRecord(parsed, 1);
    expect(failed.index).toBe(1);
    expect(failed.message).toContain(path);
    expect(failed.message).not.toContain('events[0]');
    expect(failed.message).not.toContain('events[2]');
  });

  it('a failed record still carries what could be read: bucket, key and event name', () => {
    const bad = validRecord();
    setField(bad.oss.object, 'eTag', 7);
    const failed = failedRecord(parseOssEvent({ events: [bad] }), 0);
    expect(failed.bucket).toBe('team-layers');
    expect(failed.key).toBe('layers/pillow-10.zip');
    expect(failed.eventName).toBe('ObjectCreated:PutObject');
  });

  it('a failed record leaves out what is not a string', () => {
    const bad = validRecord();
    setField(bad.oss.object, 'key', 5);
    setField(bad, 'eventName', ['x']);
    setField(bad.oss, 'bucket', 'team-layers');
    const failed = failedRecord(parseOssEvent({ events: [bad] }), 0);
    expect(failed.key).toBeUndefined();
    expect(failed.eventName).toBeUndefined();
    expect(failed.bucket).toBeUndefined();
  });

  it.each([null, 'a string', 42, [], true])('a record that is %j is reported, not thrown', (record) => {
    const parsed = parseOssEvent({ events: [validRecord(), record] });
    expect(parsed[0]!.ok).toBe(true);
    const failed = failedRecord(parsed, 1);
    expect(failed.message).toContain('events[1]');
    expect(failed.key).toBeUndefined();
  });

  it('two bad fields in one record are both named', () => {
    const bad = validRecord();
    deleteField(bad.oss.object, 'eTag');
    setField(bad.oss.object, 'size', 'big');
    const failed = failedRecord(parseOssEvent({ events: [bad] }), 0);
    expect(failed.message).toContain('events[0].oss.object.eTag');
    expect(failed.message).toContain('events[0].oss.object.size');
  });
});

describe('a malformed envelope throws EventParseError', () => {
  it.each([
    ['not JSON', '{"events": [}'],
    ['empty', ''],
    ['truncated', fixtureText('put-zip.json').slice(0, 100)],
    ['XML', '<events/>'],
  ])('%s (string and Buffer)', (_, text) => {
    expect(parseError(text).message).toMatch(/not valid JSON/);
    expect(parseError(Buffer.from(text)).message).toMatch(/not valid JSON/);
  });

  it.each([
    ['no events', { records: [] }],
    ['events is an object', { events: {} }],
    ['events is a string', { events: '[]' }],
    ['events is null', { events: null }],
  ])('%s', (_, envelope) => {
    expect(parseError(envelope).message).toContain('events');
    expect(parseError(JSON.stringify(envelope)).message).toContain('events');
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 7],
    ['an array of records', [validRecord()]],
    ['a boolean', true],
  ])('an event that is %s', (_, value) => {
    parseError(value);
  });

  it.each(['null', '[]', '"events"', '3'])('JSON text %s', (text) => {
    parseError(text);
    parseError(Buffer.from(text));
  });

  it('a huge payload (over 1 MiB) is refused before it is parsed', () => {
    const filler = 'x'.repeat(1024 * 1024);
    const huge = `{"events":[],"pad":"${filler}"}`;
    expect(parseError(huge).message).toMatch(/bytes/);
    expect(parseError(Buffer.from(huge)).message).toMatch(/bytes/);
  });

  it('the size limit counts UTF-8 bytes, not characters', () => {
    // 400,000 CJK characters are 1,200,000 bytes.
    const huge = `{"events":[],"pad":"${'层'.repeat(400_000)}"}`;
    expect(huge.length).toBeLessThan(1024 * 1024);
    parseError(huge);
  });

  it('a large but reasonable event (many records) is fine', () => {
    const events = Array.from({ length: 500 }, (_, index) => {
      const record = validRecord();
      record.oss.object.key = `layers/l${index}.zip`;
      return record;
    });
    const parsed = parseOssEvent(Buffer.from(JSON.stringify({ events })));
    expect(parsed).toHaveLength(500);
    expect(parsed.every((entry) => entry.ok)).toBe(true);
  });
});

describe('isCountedEvent (docs/contract.md §3)', () => {
  const counted = ['PutObject', 'PostObject', 'CompleteMultipartUpload', 'CopyObject'].map((name) => `ObjectCreated:${name}`);
  const ignored = [
    'ObjectCreated:InitiateMultipartUpload',
    'ObjectCreated:UploadPart',
    'ObjectCreated:UploadPartCopy',
    'ObjectCreated:AppendObject',
    'ObjectCreated:PutSymlink',
    'ObjectRemoved:DeleteObject',
    'ObjectRemoved:DeleteObjects',
    'ObjectRemoved:AbortMultipartUpload',
    'ObjectModified:UpdateObjectMeta',
    'ObjectCreated:*',
    'ObjectRemoved:*',
  ];

  it.each(counted)('%s counts', (name) => {
    expect(isCountedEvent(name)).toBe(true);
  });

  it.each(counted)('oss:%s counts (trigger-configuration spelling)', (name) => {
    expect(isCountedEvent(`oss:${name}`)).toBe(true);
  });

  it.each(ignored)('%s is ignored', (name) => {
    expect(isCountedEvent(name)).toBe(false);
  });

  it.each(ignored)('oss:%s is ignored', (name) => {
    expect(isCountedEvent(`oss:${name}`)).toBe(false);
  });

  it.each([
    '',
    'PutObject',
    'ObjectCreated',
    'ObjectCreated:PutObject ',
    ' ObjectCreated:PutObject',
    'oss:oss:ObjectCreated:PutObject',
    'xoss:ObjectCreated:PutObject',
    'ObjectCreated:PutObjectX',
    'ObjectRemoved:PutObject',
  ])('%j is not a counted name', (name) => {
    expect(isCountedEvent(name)).toBe(false);
  });

  it('each fixture is counted or ignored as its name says', () => {
    for (const [file] of COUNTED_FIXTURES) {
      const [record] = okRecords(parseOssEvent(fixtureBuffer(file)));
      expect(isCountedEvent(record!.eventName), file).toBe(true);
    }
  });
});

describe('properties', () => {
  function onlyEventParseError(raw: unknown): void {
    try {
      const parsed = parseOssEvent(raw);
      expect(Array.isArray(parsed)).toBe(true);
      parsed.forEach((entry, index) => {
        expect(entry.index).toBe(index);
        if (!entry.ok) expect(entry.message).toContain(`events[${index}]`);
      });
    } catch (error) {
      expect(error).toBeInstanceOf(EventParseError);
    }
  }

  it('arbitrary JSON values never make parseOssEvent throw anything but EventParseError', () => {
    fc.assert(fc.property(fc.jsonValue(), onlyEventParseError));
  });

  it('arbitrary JSON text and bytes likewise', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        onlyEventParseError(text);
        onlyEventParseError(Buffer.from(text));
      }),
    );
  });

  it('arbitrary strings and bytes likewise', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyEventParseError));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => onlyEventParseError(Buffer.from(bytes))));
  });

  it('arbitrary records in an events array: one entry per record, none thrown', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue(), fc.constant(validRecord()))), (events) => {
        const parsed = parseOssEvent({ events });
        expect(parsed).toHaveLength(events.length);
        onlyEventParseError(JSON.stringify({ events }));
      }),
    );
  });

  it('records mutated at one leaf: one entry per record, the valid ones parse', () => {
    const leaf = fc.constantFrom(
      ['eventName'],
      ['oss', 'bucket', 'name'],
      ['oss', 'object', 'key'],
      ['oss', 'object', 'eTag'],
      ['oss', 'object', 'size'],
      ['oss', 'object'],
      ['oss'],
      ['responseElements'],
      ['responseElements', 'requestId'],
    );
    fc.assert(
      fc.property(leaf, fc.jsonValue(), (path, value) => {
        const bad = validRecord();
        // Every path of `leaf` leads through objects of the valid record to a field of one.
        let target: Record<string, unknown> = bad;
        for (const part of path.slice(0, -1)) target = target[part] as Record<string, unknown>;
        target[path.at(-1)!] = value;
        const parsed = parseOssEvent({ events: [validRecord(), bad] });
        expect(parsed).toHaveLength(2);
        expect(parsed[0]!.ok).toBe(true);
        if (!parsed[1]!.ok) expect(parsed[1]!.message).toContain(`events[1].${path.join('.')}`);
      }),
    );
  });
});
