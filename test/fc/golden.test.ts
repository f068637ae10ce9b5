import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Credential, type LoopbackServer, serve, verifyAcs3Signature } from '../../src/emulator';
import type { FcApiVersion } from '../../src/config';
import { createFcLayers } from '../../src/fc/layer-api';
import type { CreateLayerVersionInput, LayerApi } from '../../src/fc/layers';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { fc2Client } from '../support/fc2';
import { officialClient } from './official-sdks';

/**
 * Golden tests: for each FC_API_VERSION, the publisher's request and the request of
 * Alibaba's own client for that API (fc-open20210406, fc20230330, fc2), captured on one loopback
 * server, are the same call: method, path, query, body, the set of signed headers and the values
 * that do not change per request, and the scheme.
 */
interface Captured {
  method: string;
  url: URL;
  headers: Headers;
  text: string;
}

const captured: Captured[] = [];
let server: LoopbackServer;

beforeAll(async () => {
  server = await serve(async (request) => {
    const url = new URL(request.url);
    captured.push({ method: request.method, url, headers: new Headers(request.headers), text: await request.text() });
    if (request.method === 'DELETE') return new Response(null, { status: 204 });
    const body =
      request.method === 'POST'
        ? { layerName: 'left-pad', version: 1, codeChecksum: CRC, compatibleRuntime: ['nodejs20'] }
        : url.pathname.endsWith('/services')
          ? { services: [{ serviceName: 'web' }] }
          : url.pathname.endsWith('/functions')
            ? { functions: [{ functionName: 'render', layers: [] }] }
            : { layers: [] };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  });
});
afterAll(() => server.close());
beforeEach(() => {
  captured.length = 0;
});

const CRC = '11051210869376104954';
const INPUT: CreateLayerVersionInput = {
  layerName: 'left-pad',
  ossBucketName: TEST_BUCKET,
  ossObjectName: 'layers/团队 a+b.zip',
  description: 'left-pad 1.3',
  compatibleRuntime: ['nodejs20', 'nodejs18'],
  checksum: CRC,
  license: 'MIT',
};

/** A long-lived key without a token, as in local runs: no `x-acs-security-token`, `static_ak`. */
const PLAIN_KEY: Credential = { accessKeyId: 'LTAIgoldenPlainKey', accessKeySecret: 'golden-plain-secret' };

/** The three calls the publisher makes, through its own adapter. */
async function ours(apiVersion: FcApiVersion, credential: Credential = TEST_CREDENTIALS): Promise<Captured[]> {
  const api: LayerApi = createFcLayers({
    accountId: TEST_ACCOUNT_ID,
    region: TEST_REGION,
    endpoint: new URL(server.url),
    apiVersion,
    credentials: credential,
    timeoutMs: 10_000,
  });
  await api.create(INPUT);
  await api.versionsFrom('left-pad', 1);
  await api.delete('left-pad', 3);
  return captured.splice(0);
}

/** The same three calls through Alibaba's own client for the API. */
async function official(apiVersion: FcApiVersion, credential: Credential = TEST_CREDENTIALS): Promise<Captured[]> {
  if (apiVersion === '2016-08-15') {
    // fc2 sends a token only with an `STS.` key (docs/reference/alibaba-cloud.md §0.13).
    const client = fc2Client({ endpoint: server.url, apiVersion, accessKeyID: credential.accessKeyId, accessKeySecret: credential.accessKeySecret });
    // fc2 sends the body it is given: the one the contract names (docs/contract.md §5 step 6).
    const { ossBucketName, ossObjectName, compatibleRuntime, description } = INPUT;
    await client.publishLayerVersion('left-pad', { Code: { ossBucketName, ossObjectName }, compatibleRuntime, description });
    await client.listLayerVersions('left-pad', { startVersion: 1, limit: 100 });
    await client.deleteLayerVersion('left-pad', 3);
    return captured.splice(0);
  }
  const client = officialClient(apiVersion, { endpoint: server.url, credential });
  const fc3 = apiVersion === '2023-03-30' ? { checksum: INPUT.checksum, license: INPUT.license! } : {};
  await client.create('left-pad', {
    bucket: INPUT.ossBucketName,
    key: INPUT.ossObjectName,
    compatibleRuntime: INPUT.compatibleRuntime,
    description: INPUT.description!,
    ...fc3,
  });
  await client.list('left-pad', 1, 100);
  await client.delete('left-pad', 3);
  return captured.splice(0);
}

/** PutLayerACL and the listings retention reads, through the publisher's adapter. */
async function oursAfterPublish(apiVersion: FcApiVersion): Promise<Captured[]> {
  const api = createFcLayers({
    accountId: TEST_ACCOUNT_ID,
    region: TEST_REGION,
    endpoint: new URL(server.url),
    apiVersion,
    credentials: TEST_CREDENTIALS,
    timeoutMs: 10_000,
  });
  await api.putAcl('left-pad', true);
  await api.layersInUse();
  return captured.splice(0);
}

/** The same calls through Alibaba's own client: fc2's putLayerACL, listServices and listFunctions before FC 3.0. */
async function officialAfterPublish(apiVersion: FcApiVersion): Promise<Captured[]> {
  if (apiVersion === '2016-08-15') {
    const client = fc2Client({ endpoint: server.url, apiVersion }) as unknown as {
      putLayerACL(name: string, options: object): Promise<unknown>;
      listServices(options: object): Promise<unknown>;
      listFunctions(service: string, options: object): Promise<unknown>;
    };
    await client.putLayerACL('left-pad', { public: 'true' });
    await client.listServices({ limit: 100 });
    await client.listFunctions('web', { limit: 100 });
    return captured.splice(0);
  }
  const client = officialClient(apiVersion, { endpoint: server.url });
  await client.putAcl('left-pad', true);
  if (apiVersion === '2021-04-06') await client.listServices(100);
  await client.listFunctions(apiVersion === '2021-04-06' ? 'web' : undefined, 100);
  return captured.splice(0);
}

/** Headers whose value is the same for the same call (no clock, nonce or body hash in them). */
const STABLE = ['host', 'content-type', 'x-acs-version', 'x-acs-action', 'x-acs-accesskey-id', 'x-acs-credentials-provider', 'x-fc-account-id'];

function headerNames(headers: Headers): string[] {
  const names: string[] = [];
  headers.forEach((_value, name) => {
    names.push(name);
  });
  return names;
}

/** What must be equal between the two: everything of the call but per-request values. */
function shape(request: Captured) {
  const authorization = request.headers.get('authorization') ?? '';
  const scheme = authorization.split(' ')[0];
  const signed =
    scheme === 'ACS3-HMAC-SHA256'
      ? (/SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '').split(';')
      : // The FC scheme signs Content-MD5, Content-Type, Date and every x-fc-* header (docs/reference/alibaba-cloud.md §3.1).
        headerNames(request.headers).filter((name) => ['content-md5', 'content-type', 'date'].includes(name) || name.startsWith('x-fc-'));
  return {
    method: request.method,
    // Compared decoded: both encode the same characters, but the SDKs differ in how (%20 and the like).
    path: decodeURIComponent(request.url.pathname),
    query: Object.fromEntries(request.url.searchParams),
    body: request.text === '' ? undefined : (JSON.parse(request.text) as unknown),
    scheme,
    credential: scheme === 'FC' ? authorization.slice(3).split(':')[0] : /Credential=([^,]+)/.exec(authorization)?.[1],
    signedHeaders: [...signed].sort(),
    stable: Object.fromEntries(STABLE.filter((name) => request.headers.has(name)).map((name) => [name, request.headers.get(name)])),
    // Compared as present or not, so a failure never prints the token.
    securityToken: request.headers.has('x-acs-security-token') || request.headers.has('x-fc-security-token'),
  };
}

const VERSIONS: Array<[FcApiVersion, string, string]> = [
  ['2021-04-06', '@alicloud/fc-open20210406', 'ACS3-HMAC-SHA256'],
  ['2023-03-30', '@alicloud/fc20230330', 'ACS3-HMAC-SHA256'],
  ['2016-08-15', '@alicloud/fc2', 'FC'],
];

describe.each(VERSIONS)('FC_API_VERSION=%s: the publisher sends what %s sends', (apiVersion, _sdk, scheme) => {
  it('CreateLayerVersion, ListLayerVersions and DeleteLayerVersion are the same requests', async () => {
    const theirs = await official(apiVersion);
    const mine = await ours(apiVersion);

    expect(mine.map(shape)).toEqual(theirs.map(shape));
    expect(mine.map((request) => shape(request).scheme)).toEqual([scheme, scheme, scheme]);
    expect(mine.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      `POST /${apiVersion}/layers/left-pad/versions`,
      `GET /${apiVersion}/layers/left-pad/versions`,
      `DELETE /${apiVersion}/layers/left-pad/versions/3`,
    ]);
  });

  it('PutLayerACL and the function listings are the same requests', async () => {
    const theirs = await officialAfterPublish(apiVersion);
    const mine = await oursAfterPublish(apiVersion);

    expect(mine.map(shape)).toEqual(theirs.map(shape));
    const fc3 = apiVersion === '2023-03-30';
    expect(mine.map((request) => `${request.method} ${request.url.pathname}${request.url.search}`)).toEqual([
      `PUT /${apiVersion}/layers/left-pad/acl?${fc3 ? 'acl=1' : 'public=true'}`,
      ...(fc3 ? ['GET /2023-03-30/functions?limit=100'] : [`GET /${apiVersion}/services?limit=100`, `GET /${apiVersion}/services/web/functions?limit=100`]),
    ]);
  });

  it('with a plain key (no security token) too', async () => {
    const theirs = await official(apiVersion, PLAIN_KEY);
    const mine = await ours(apiVersion, PLAIN_KEY);
    expect(mine.map(shape)).toEqual(theirs.map(shape));
    expect(mine.map((request) => shape(request).securityToken)).toEqual([false, false, false]);
  });

  it('the create body is the one of docs/contract.md §5 step 6', async () => {
    const [create] = await ours(apiVersion);
    const location = { ossBucketName: TEST_BUCKET, ossObjectName: INPUT.ossObjectName };
    expect(JSON.parse(create!.text)).toEqual(
      apiVersion === '2023-03-30'
        ? { code: { ...location, checksum: CRC }, description: INPUT.description, compatibleRuntime: INPUT.compatibleRuntime, license: 'MIT' }
        : { Code: location, description: INPUT.description, compatibleRuntime: INPUT.compatibleRuntime },
    );
  });
});

describe.each(VERSIONS.filter(([, , scheme]) => scheme === 'ACS3-HMAC-SHA256'))('FC_API_VERSION=%s', (apiVersion) => {
  it("both requests pass the emulator's own ACS3 verifier, written from Alibaba's document", async () => {
    const caller = { accountId: TEST_ACCOUNT_ID, credentials: [TEST_CREDENTIALS], now: new Date() };
    for (const request of [...(await official(apiVersion)), ...(await ours(apiVersion))]) {
      const body = new TextEncoder().encode(request.text);
      const asReceived = new Request(request.url, { method: request.method, headers: request.headers, body: request.method === 'POST' ? body : null });
      expect(() => verifyAcs3Signature(asReceived, body, caller), `${request.method} ${request.url.pathname}`).not.toThrow();
    }
  });
});
