import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, describeError, withConsoleRouted, type LoggerOptions } from '../../src/log/logger';

const SECRET = 'kP9sEcReTvAlUe0123456789abcdef';
const TOKEN = 'CAIS+token/with=special+chars==';
const AK = 'STS.NUgYrLnoC37mZZCNnAbez2GPX';

/** A logger writing into an array; `lines` parses each line, failing if one is not a single JSON object. */
function capture(options: Omit<LoggerOptions, 'write'> = {}) {
  const raw: string[] = [];
  const logger = createLogger({ requestId: 'req-1', secrets: [SECRET, TOKEN], ...options, write: (line) => raw.push(line) });
  const lines = (): Array<Record<string, unknown>> =>
    raw.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      const parsed = JSON.parse(line);
      expect(typeof parsed).toBe('object');
      expect(Array.isArray(parsed)).toBe(false);
      return parsed;
    });
  return { logger, raw, lines, text: () => raw.join('') };
}

function expectNoSecret(text: string, ...values: string[]): void {
  for (const value of [SECRET, TOKEN, ...values]) expect(text).not.toContain(value);
}

describe('one JSON object per line (docs/contract.md §8)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('each call writes one line with time, level, requestId and step', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-20T08:15:42.123Z'));
    const { logger, raw, lines } = capture();
    logger.info('zip.read', { key: 'layers/a.zip', size: 10 });
    logger.warn('zip.slow');
    logger.error('zip.failed', { ms: 5 });
    expect(raw).toHaveLength(3);
    expect(lines()).toEqual([
      { time: '2026-11-20T08:15:42.123Z', level: 'info', requestId: 'req-1', step: 'zip.read', key: 'layers/a.zip', size: 10 },
      { time: '2026-11-20T08:15:42.123Z', level: 'warn', requestId: 'req-1', step: 'zip.slow' },
      { time: '2026-11-20T08:15:42.123Z', level: 'error', requestId: 'req-1', step: 'zip.failed', ms: 5 },
    ]);
  });

  it('strings with newlines stay on one line', () => {
    const { logger, raw, lines } = capture();
    logger.info('multi', { message: 'one\ntwo\r\nthree', nested: { text: 'a\nb' } });
    expect(raw).toHaveLength(1);
    expect(lines()[0]!.message).toBe('one\ntwo\r\nthree');
  });

  it('debug is below the default level; minLevel lets it through', () => {
    const quiet = capture();
    quiet.logger.debug('detail');
    expect(quiet.raw).toEqual([]);
    const loud = capture({ minLevel: 'debug' });
    loud.logger.debug('detail');
    expect(loud.lines()[0]).toMatchObject({ level: 'debug', step: 'detail' });
    const errorsOnly = capture({ minLevel: 'error' });
    errorsOnly.logger.warn('w');
    errorsOnly.logger.error('e');
    expect(errorsOnly.lines().map((line) => line.step)).toEqual(['e']);
  });

  it('child loggers add their fields to every line and keep the requestId', () => {
    const { logger, lines } = capture();
    const child = logger.child({ key: 'layers/a.zip' }).child({ attempt: 2 });
    child.info('step.one', { ms: 1 });
    logger.info('parent');
    expect(lines()).toEqual([
      expect.objectContaining({ requestId: 'req-1', step: 'step.one', key: 'layers/a.zip', attempt: 2, ms: 1 }),
      expect.not.objectContaining({ key: 'layers/a.zip' }),
    ]);
  });

  it('writes to stdout when no writer is given', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      createLogger({ requestId: 'req-stdout' }).info('hello');
      expect(write).toHaveBeenCalledTimes(1);
      const line = String(write.mock.calls[0]![0]);
      expect(JSON.parse(line)).toMatchObject({ requestId: 'req-stdout', step: 'hello' });
    } finally {
      write.mockRestore();
    }
  });

  it('binary data is summarised, not dumped', () => {
    const { logger, lines } = capture();
    logger.info('bytes', { body: Buffer.from('PK\u0003\u0004secret-ish'), view: new Uint8Array(3) });
    expect(lines()[0]).toMatchObject({ body: '[14 bytes]', view: '[3 bytes]' });
  });

  it('a circular structure is one line, not a crash', () => {
    const { logger, lines } = capture();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    logger.info('circular', { loop });
    expect(lines()[0]!.loop).toEqual({ name: 'loop', self: '[circular]' });
  });
});

describe('secrets never appear (docs/contract.md §8)', () => {
  it('in the step, a message, nested fields and arrays', () => {
    const { logger, text } = capture();
    logger.info(`step-${SECRET}`, {
      message: `the secret is ${SECRET} and the token ${TOKEN}`,
      nested: { deeper: { list: [`x${SECRET}y`, { again: TOKEN }] } },
    });
    expectNoSecret(text());
    expect(text()).toContain('[redacted]');
    expect(text()).toContain('the secret is');
  });

  it('in fields bound by child loggers', () => {
    const { logger, text } = capture();
    logger.child({ context: `token=${TOKEN}` }).info('x');
    expectNoSecret(text());
  });

  it('in errors, their causes and causes of causes', () => {
    const { logger, lines, text } = capture();
    const root = new Error(`signature computed with ${SECRET}`);
    const middle = new Error(`request failed, token ${TOKEN}`, { cause: root });
    const top = Object.assign(new Error('publish failed', { cause: middle }), { code: 'AccessDenied', status: 403 });
    logger.error('publish.failed', { error: top });
    expectNoSecret(text());
    expect(lines()[0]!.error).toMatchObject({
      name: 'Error',
      message: 'publish failed',
      code: 'AccessDenied',
      status: 403,
      cause: { message: expect.stringContaining('request failed'), cause: { message: expect.stringContaining('signature computed') } },
    });
  });

  it('in an error logged as the whole fields value or inside an array', () => {
    const { logger, text } = capture();
    logger.error('x', { errors: [new Error(SECRET)] });
    expectNoSecret(text());
  });

  it('an SDK error is never dumped whole: its request parameters stay out', () => {
    const { logger, lines, text } = capture({ secrets: [] });
    const sdkError = Object.assign(new Error('InvalidAccessKeyId'), {
      code: 'InvalidAccessKeyId',
      params: { accessKeySecret: 'plainSecretInParams', stsToken: 'plainTokenInParams' },
      requestHeaders: { 'x-custom': 'plainValueInHeaders' },
    });
    logger.error('oss.failed', { error: sdkError });
    expectNoSecret(text(), 'plainSecretInParams', 'plainTokenInParams', 'plainValueInHeaders');
    expect(lines()[0]!.error).toEqual({ name: 'Error', message: 'InvalidAccessKeyId', code: 'InvalidAccessKeyId' });
  });

  it('describeError keeps name, message, code, status and cause only', () => {
    const error = Object.assign(new TypeError('bad', { cause: new RangeError('worse') }), { code: 7, status: 500, extra: 'x' });
    expect(describeError(error)).toEqual({
      name: 'TypeError',
      message: 'bad',
      code: 7,
      status: 500,
      cause: { name: 'RangeError', message: 'worse' },
    });
  });

  it('a secret occurring several times is masked every time', () => {
    const { logger, text } = capture();
    logger.info('x', { message: `${SECRET}${SECRET} ${SECRET}` });
    expectNoSecret(text());
    expect(text().match(/\[redacted\]/g)).toHaveLength(3);
  });

  it('undefined secrets and very short ones are ignored rather than masking everything', () => {
    const { logger, lines } = capture({ secrets: [undefined, '', 'a'] });
    logger.info('x', { message: 'a plain message' });
    expect(lines()[0]!.message).toBe('a plain message');
  });

  it('secrets with regular-expression characters are masked literally', () => {
    const odd = 'a.b*c+d?(e)[f]$^';
    const { logger, text } = capture({ secrets: [odd] });
    logger.info('x', { message: `>${odd}<`, other: 'aXb' });
    expect(text()).not.toContain(odd);
    expect(text()).toContain('aXb');
  });

  it('redact() cleans a value for writing elsewhere (a result, an audit record)', () => {
    const { logger } = capture();
    const result = { status: 'failed', error: { message: `FC said: token ${TOKEN} rejected` }, accessKeySecret: SECRET };
    const clean = logger.redact(result);
    expectNoSecret(JSON.stringify(clean));
    expect(clean.status).toBe('failed');
    expect(result.accessKeySecret).toBe(SECRET); // the original is not modified
  });
});

describe('signatures and tokens are masked whatever their path (docs/contract.md §8)', () => {
  // None of these values is in `secrets`: the patterns alone must catch them.
  const plain = () => capture({ secrets: [] });

  it.each([
    ['OSS V1 Authorization', `OSS ${AK}:Xq4Vn3VQbPNgTtbA1Z8aS0Ph/+c=`, 'Xq4Vn3VQbPNgTtbA1Z8aS0Ph/+c='],
    ['OSS with a long-term key', 'OSS LTAI5tExampleKeyId:0bWlU6ZlRn2pGv4Dd1q1ZCk1jrE=', '0bWlU6ZlRn2pGv4Dd1q1ZCk1jrE='],
    ['FC Authorization', `FC ${AK}:mK1oFQ5D7J6hbOCmjC9o2dVqK0M=`, 'mK1oFQ5D7J6hbOCmjC9o2dVqK0M='],
    [
      'OSS V4 Authorization',
      `OSS4-HMAC-SHA256 Credential=${AK}/20261120/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host,Signature=4b663e424d2db9967401ff6ce1c86f8c83cabd77d9908475239d9110642c63fa`,
      '4b663e424d2db9967401ff6ce1c86f8c83cabd77d9908475239d9110642c63fa',
    ],
  ])('%s in free text', (_, header, signature) => {
    const { logger, text } = plain();
    logger.warn('x', { message: `request failed; authorization: ${header}; retrying` });
    expect(text()).not.toContain(signature);
    expect(text()).toContain('retrying');
  });

  it('an Authorization header as a field is masked by its name', () => {
    const { logger, lines } = plain();
    logger.info('x', { headers: { Authorization: 'Bearer abc', authorization: 'FC a:b', 'x-oss-date': 'Fri' } });
    expect(lines()[0]!.headers).toEqual({ Authorization: '[redacted]', authorization: '[redacted]', 'x-oss-date': 'Fri' });
  });

  it.each([
    [
      'Signature',
      'https://b.oss-cn-hangzhou.aliyuncs.com/k.zip?OSSAccessKeyId=LTAI5t&Expires=1&Signature=Xq4Vn3VQbP%2BNg%3D',
      'Xq4Vn3VQbP%2BNg%3D',
      'https://b.oss-cn-hangzhou.aliyuncs.com/k.zip?',
    ],
    ['security-token', 'https://b.oss-cn-hangzhou.aliyuncs.com/k.zip?security-token=CAISabc%2Bdef&x=1', 'CAISabc%2Bdef', '&x=1'],
    ['x-oss-security-token', 'https://h/k?x-oss-security-token=CAISxyz123&a=b', 'CAISxyz123', 'https://h/k?x-oss-security-token='],
    ['signature (lower case)', 'https://h/k?signature=lowercaseSig123', 'lowercaseSig123', 'https://h/k?signature='],
  ])('a %s query value is masked, the rest of the URL kept', (_, url, value, kept) => {
    const { logger, text } = plain();
    logger.info('x', { url, message: `GET ${url} failed` });
    expect(text()).not.toContain(value);
    expect(text()).toContain(kept);
  });

  it('an x-oss-signature (V4 presigned URL) query value is masked', () => {
    const { logger, text } = plain();
    const signature = '4b663e424d2db9967401ff6ce1c86f8c83cabd77d9908475239d9110642c63fa';
    logger.info('x', {
      url: `https://b.oss-cn-hangzhou.aliyuncs.com/k.zip?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-expires=60&x-oss-signature=${signature}`,
    });
    expect(text()).not.toContain(signature);
  });

  it.each([
    'accessKeySecret',
    'AccessKeySecret',
    'securityToken',
    'SecurityToken',
    'stsToken',
    'token',
    'x-oss-security-token',
    'x-acs-security-token',
    'authorization',
    'Authorization',
    'password',
    'clientSecret',
    'signature',
    'credential',
  ])('a string field named %j is masked', (field) => {
    const { logger, lines, text } = plain();
    logger.info('x', { [field]: 'plain-value-1234', nested: { [field]: 'plain-value-5678' } });
    expect(text()).not.toContain('plain-value');
    expect(lines()[0]![field]).toBe('[redacted]');
  });

  it('a credentials object keeps its shape, with the secret and the token masked', () => {
    const { logger, text } = plain();
    logger.info('x', { credentials: { accessKeyId: AK, accessKeySecret: 'sec-abcdef', securityToken: 'tok-abcdef' } });
    expect(text()).not.toContain('sec-abcdef');
    expect(text()).not.toContain('tok-abcdef');
  });

  it('a secret-named field holding an array of strings is masked', () => {
    const { logger, text } = plain();
    logger.info('x', { headers: { 'x-oss-security-token': ['CAISarrayToken123'], authorization: ['Bearer abcdef123'] } });
    expect(text()).not.toContain('CAISarrayToken123');
    expect(text()).not.toContain('abcdef123');
  });

  it('other fields and ordinary words are left alone', () => {
    const { logger, lines } = plain();
    logger.info('x', { key: 'layers/OSS FC.zip', message: 'OSS said: NoSuchKey', accessKeyId: AK, tokens: 3 });
    expect(lines()[0]).toMatchObject({ key: 'layers/OSS FC.zip', message: 'OSS said: NoSuchKey', accessKeyId: AK, tokens: 3 });
  });
});

describe('withConsoleRouted (docs/contract.md §8)', () => {
  const realConsole = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  const outside = {
    log: vi.fn(),
    info: vi.fn(),
    warn: vi.fn(),
    error: vi.fn(),
    debug: vi.fn(),
  };

  beforeAll(() => {
    // Stand-ins for the host's console, installed before the first routing so the router keeps them
    // as the console to use outside an invocation.
    Object.assign(console, outside);
  });

  afterEach(() => {
    for (const fn of Object.values(outside)) fn.mockClear();
  });

  afterAll(() => {
    Object.assign(console, realConsole);
  });

  it('console.log/info/warn/error inside the callback become JSON lines of the invocation', async () => {
    const { logger, lines } = capture({ requestId: 'req-console' });
    const value = await withConsoleRouted(logger, async () => {
      console.log('plain %s', 'text', { n: 1 });
      console.info('info line');
      console.warn('careful');
      await Promise.resolve();
      console.error(new Error('boom'));
      return 42;
    });
    expect(value).toBe(42);
    const out = lines();
    expect(out.map((line) => [line.level, line.step, line.requestId])).toEqual([
      ['info', 'library', 'req-console'],
      ['info', 'library', 'req-console'],
      ['warn', 'library', 'req-console'],
      ['error', 'library', 'req-console'],
    ]);
    expect(out[0]!.message).toBe('plain text { n: 1 }');
    expect(out[2]!.message).toBe('careful');
    expect(out[3]!.message).toContain('boom');
    for (const fn of Object.values(outside)) expect(fn).not.toHaveBeenCalled();
  });

  it('console.debug inside is routed at debug level (silenced at the default level)', async () => {
    const quiet = capture();
    await withConsoleRouted(quiet.logger, async () => console.debug('chatter'));
    expect(quiet.raw).toEqual([]);
    expect(outside.debug).not.toHaveBeenCalled();
    const loud = capture({ minLevel: 'debug' });
    await withConsoleRouted(loud.logger, async () => console.debug('chatter'));
    expect(loud.lines()[0]).toMatchObject({ level: 'debug', message: 'chatter' });
  });

  it('what a library prints is scrubbed like any line', async () => {
    const { logger, text } = capture();
    await withConsoleRouted(logger, async () => {
      console.warn('[ali-oss] using sts token %s with secret %s', TOKEN, SECRET);
      console.log('request headers: %j', { authorization: `FC ${AK}:mK1oFQ5D7J6hbOCmjC9o2dVqK0M=` });
    });
    expectNoSecret(text(), 'mK1oFQ5D7J6hbOCmjC9o2dVqK0M=');
  });

  it('console outside the callback is untouched: before, after, and after a rejection', async () => {
    const { logger, raw } = capture();
    console.log('before');
    await withConsoleRouted(logger, async () => undefined);
    console.log('after');
    console.error('after error');
    await expect(
      withConsoleRouted(logger, async () => {
        throw new Error('failed invocation');
      }),
    ).rejects.toThrow('failed invocation');
    console.warn('after rejection');
    expect(raw).toEqual([]);
    expect(outside.log.mock.calls).toEqual([['before'], ['after']]);
    expect(outside.error.mock.calls).toEqual([['after error']]);
    expect(outside.warn.mock.calls).toEqual([['after rejection']]);
  });

  it('code running outside the invocation while it is in progress keeps the host console', async () => {
    const { logger, raw } = capture();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = withConsoleRouted(logger, async () => {
      await gate;
      console.log('inside');
    });
    console.log('host, meanwhile');
    release();
    await running;
    expect(outside.log.mock.calls).toEqual([['host, meanwhile']]);
    expect(raw).toHaveLength(1);
    expect(JSON.parse(raw[0]!)).toMatchObject({ message: 'inside' });
  });

  it('concurrent invocations keep their own requestId (AsyncLocalStorage)', async () => {
    const a = capture({ requestId: 'req-A' });
    const b = capture({ requestId: 'req-B' });
    const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
    const run = (name: string) => async () => {
      for (let i = 0; i < 5; i++) {
        console.log(`${name} ${i}`);
        await tick();
        await new Promise<void>((resolve) => process.nextTick(resolve));
      }
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      console.warn(`${name} done`);
    };
    await Promise.all([withConsoleRouted(a.logger, run('A')), withConsoleRouted(b.logger, run('B'))]);
    const linesA = a.lines();
    const linesB = b.lines();
    expect(linesA.map((line) => line.message)).toEqual(['A 0', 'A 1', 'A 2', 'A 3', 'A 4', 'A done']);
    expect(linesB.map((line) => line.message)).toEqual(['B 0', 'B 1', 'B 2', 'B 3', 'B 4', 'B done']);
    expect(new Set(linesA.map((line) => line.requestId))).toEqual(new Set(['req-A']));
    expect(new Set(linesB.map((line) => line.requestId))).toEqual(new Set(['req-B']));
  });

  it('a nested routing uses the inner logger, then the outer one again', async () => {
    const outer = capture({ requestId: 'outer' });
    const inner = capture({ requestId: 'inner' });
    await withConsoleRouted(outer.logger, async () => {
      console.log('one');
      await withConsoleRouted(inner.logger, async () => console.log('two'));
      console.log('three');
    });
    expect(outer.lines().map((line) => line.message)).toEqual(['one', 'three']);
    expect(inner.lines().map((line) => line.message)).toEqual(['two']);
  });

  it('routing twice does not wrap console twice (one line per call)', async () => {
    const { logger, raw } = capture();
    for (let i = 0; i < 3; i++) await withConsoleRouted(logger, async () => undefined);
    await withConsoleRouted(logger, async () => console.log('once'));
    expect(raw).toHaveLength(1);
    console.log('host');
    expect(outside.log).toHaveBeenCalledTimes(1);
  });
});
