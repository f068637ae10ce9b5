import { http, HttpResponse } from 'msw';
import { verifyAcs3Signature } from '../../src/emulator/fc-acs3-signature';
import { ServiceError } from '../../src/emulator/service';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS } from './cloud';

/**
 * FC 3.0's function API (2023-03-30) as msw handlers, for the rollout tests: GetFunction (with a
 * qualifier), UpdateFunction `layers`, ListFunctions, PublishFunctionVersion, ListFunctionVersions,
 * GetAlias, CreateAlias, UpdateAlias, ListAliases. Requests must be signed ACS3-HMAC-SHA256 for the
 * test account (checked by the emulator's verifier); answers and errors are in FC 3.0's shapes
 * (`{Code, Message, RequestId}`), with paths and fields as @alicloud/fc20230330 models them.
 */
export interface FakeFunction {
  functionName: string;
  layers: string[];
  versions: Array<{ versionId: string; description: string; layers: string[]; createdTime: string }>;
  aliases: Map<string, { versionId: string; additionalVersionWeight: Record<string, number> }>;
  lastModifiedTime: string;
}

/** What the rollout tests inject: a fault before or after an action takes effect, or a change by someone else. */
export interface FunctionFaults {
  /** Answer 429 Throttled to the next n calls of `action`, without doing them. */
  throttle?: { action: string; times: number };
  /** Do the next `action`, then answer 503 as if the answer were lost. */
  loseAnswerOf?: string;
  /** Runs before the next call of `action` is handled (someone else changing the function meanwhile). */
  before?: { action: string; run: () => void };
  /** Every call of `action` takes this long before FC acts on it (so deliveries overlap). */
  slow?: { action: string; ms: number };
}

export class FakeFunctions {
  readonly functions = new Map<string, FakeFunction>();
  readonly calls: Array<{ action: string; functionName: string | undefined; body?: unknown }> = [];
  faults: FunctionFaults = {};

  seed(functionName: string, layers: string[]): FakeFunction {
    const created: FakeFunction = { functionName, layers: [...layers], versions: [], aliases: new Map(), lastModifiedTime: new Date().toISOString() };
    this.functions.set(functionName, created);
    return created;
  }

  /** Publishes $LATEST as a version and points `aliasName` at it, as a team does before a canary. */
  publishWithAlias(functionName: string, aliasName: string): string {
    const fn = this.require(functionName);
    const versionId = this.publish(fn, 'seeded').versionId;
    fn.aliases.set(aliasName, { versionId, additionalVersionWeight: {} });
    return versionId;
  }

  updates(functionName: string): number {
    return this.calls.filter((call) => call.action === 'UpdateFunction' && call.functionName === functionName).length;
  }

  handlers() {
    return [http.all(/\/2023-03-30\/functions(\/.*)?$/, async ({ request }) => this.handle(request))];
  }

  private async handle(request: Request): Promise<Response> {
    const requestId = `fake-${this.calls.length + 1}`;
    try {
      const body = new Uint8Array(await request.clone().arrayBuffer());
      verifyAcs3Signature(request, body, { accountId: TEST_ACCOUNT_ID, credentials: [TEST_CREDENTIALS], now: new Date() });
      const url = new URL(request.url);
      const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
      const [functionName, collection, item] = segments;
      const action = actionOf(request.method, functionName, collection, item);
      const parsed: unknown = body.length === 0 ? undefined : JSON.parse(Buffer.from(body).toString('utf8'));
      this.calls.push({ action, functionName, ...(parsed === undefined ? {} : { body: parsed }) });
      if (this.faults.before?.action === action) {
        const { run } = this.faults.before;
        delete this.faults.before;
        run();
      }
      if (this.faults.slow?.action === action) await new Promise((resolve) => setTimeout(resolve, this.faults.slow?.ms));
      const throttle = this.faults.throttle;
      if (throttle?.action === action && throttle.times > 0) {
        throttle.times -= 1;
        throw new ServiceError(429, 'Throttled', 'Request was denied due to request throttling.');
      }
      const answer = this.act(action, functionName, item, url.searchParams, parsed);
      if (this.faults.loseAnswerOf === action) {
        delete this.faults.loseAnswerOf;
        throw new ServiceError(503, 'ServiceUnavailable', 'The answer was lost.');
      }
      return HttpResponse.json(answer, { headers: { 'x-fc-request-id': requestId } });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return HttpResponse.json(
        { Code: error.code, Message: error.message, RequestId: requestId },
        { status: error.status, headers: { 'x-fc-request-id': requestId } },
      );
    }
  }

  private act(action: string, functionName: string | undefined, item: string | undefined, query: URLSearchParams, body: unknown): object {
    if (action === 'ListFunctions') {
      const prefix = query.get('prefix') ?? '';
      return { functions: [...this.functions.values()].filter((fn) => fn.functionName.startsWith(prefix)).map((fn) => view(fn, fn.layers)) };
    }
    const fn = this.require(functionName ?? '');
    const input = (body ?? {}) as Record<string, unknown>;
    switch (action) {
      case 'GetFunction': {
        const qualifier = query.get('qualifier');
        if (qualifier === null || qualifier === 'LATEST') return view(fn, fn.layers);
        const version = fn.versions.find((candidate) => candidate.versionId === (fn.aliases.get(qualifier)?.versionId ?? qualifier));
        if (version === undefined) throw new ServiceError(404, 'VersionNotFound', `version ${qualifier} of function ${fn.functionName} does not exist`);
        return view(fn, version.layers);
      }
      case 'UpdateFunction': {
        const layers = input.layers;
        if (!Array.isArray(layers) || !layers.every((arn) => typeof arn === 'string'))
          throw new ServiceError(400, 'InvalidArgument', 'layers must be an array of strings');
        if (layers.length > 5) throw new ServiceError(400, 'InvalidArgument', 'a function can have at most 5 layers');
        fn.layers = [...layers];
        fn.lastModifiedTime = new Date().toISOString();
        return view(fn, fn.layers);
      }
      case 'PublishFunctionVersion':
        return this.publish(fn, typeof input.description === 'string' ? input.description : '');
      case 'ListFunctionVersions':
        return { versions: [...fn.versions].reverse().map(({ layers: _layers, ...version }) => version), direction: 'BACKWARD' };
      case 'GetAlias':
      case 'UpdateAlias': {
        const alias = fn.aliases.get(item ?? '');
        if (alias === undefined) throw new ServiceError(404, 'AliasNotFound', `alias ${item} of function ${fn.functionName} does not exist`);
        if (action === 'UpdateAlias') fn.aliases.set(item ?? '', this.aliasTarget(fn, input));
        return { aliasName: item, ...fn.aliases.get(item ?? '') };
      }
      case 'CreateAlias': {
        const aliasName = String(input.aliasName ?? '');
        if (fn.aliases.has(aliasName)) throw new ServiceError(409, 'AliasAlreadyExists', `alias ${aliasName} already exists`);
        fn.aliases.set(aliasName, this.aliasTarget(fn, input));
        return { aliasName, ...fn.aliases.get(aliasName) };
      }
      case 'ListAliases':
        return { aliases: [...fn.aliases.entries()].map(([aliasName, alias]) => ({ aliasName, ...alias })) };
      default:
        throw new ServiceError(404, 'NotFound', `no such action: ${action}`);
    }
  }

  private aliasTarget(fn: FakeFunction, input: Record<string, unknown>) {
    const versionId = String(input.versionId ?? '');
    const weights = (input.additionalVersionWeight ?? {}) as Record<string, number>;
    for (const id of [versionId, ...Object.keys(weights)]) {
      if (!fn.versions.some((version) => version.versionId === id)) throw new ServiceError(400, 'InvalidArgument', `version ${id} does not exist`);
    }
    return { versionId, additionalVersionWeight: weights };
  }

  private publish(fn: FakeFunction, description: string) {
    const version = { versionId: String(fn.versions.length + 1), description, layers: [...fn.layers], createdTime: new Date().toISOString() };
    fn.versions.push(version);
    const { layers: _layers, ...shown } = version;
    return shown;
  }

  private require(functionName: string): FakeFunction {
    const fn = this.functions.get(functionName);
    if (fn === undefined) throw new ServiceError(404, 'FunctionNotFound', `function ${functionName} does not exist`);
    return fn;
  }
}

function actionOf(method: string, functionName: string | undefined, collection: string | undefined, item: string | undefined): string {
  if (functionName === undefined) return method === 'GET' ? 'ListFunctions' : 'CreateFunction';
  if (collection === undefined) return method === 'GET' ? 'GetFunction' : 'UpdateFunction';
  if (collection === 'versions') return method === 'GET' ? 'ListFunctionVersions' : 'PublishFunctionVersion';
  if (collection === 'aliases') {
    if (item === undefined) return method === 'GET' ? 'ListAliases' : 'CreateAlias';
    return method === 'GET' ? 'GetAlias' : 'UpdateAlias';
  }
  return 'Unknown';
}

function view(fn: FakeFunction, layers: string[]): object {
  return {
    functionName: fn.functionName,
    layers: layers.map((arn) => ({ arn, size: 1 })),
    lastModifiedTime: fn.lastModifiedTime,
    runtime: 'nodejs20',
    handler: 'index.handler',
  };
}
