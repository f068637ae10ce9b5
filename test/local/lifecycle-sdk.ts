import Fc2021Client, * as fc2021 from '@alicloud/fc-open20210406';
import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { Config } from '@alicloud/openapi-client';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { strToU8, zipSync } from 'fflate';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';

/** The official SDKs as a user configures them for `npm start`: the local FC's host, http, the local key. */
function sdkConfig(fcUrl: string, regionId = LOCAL_REGION) {
  const url = new URL(fcUrl);
  return { ...LOCAL_CREDENTIALS, endpoint: url.host, protocol: url.protocol.replace(':', ''), regionId };
}

export function fc3Client(fcUrl: string): Fc2023Client {
  return new Fc2023Client(new $OpenApiUtil.Config(sdkConfig(fcUrl)));
}

export function fc2021Client(fcUrl: string, region?: string): Fc2021Client {
  return new Fc2021Client(new Config(sdkConfig(fcUrl, region)));
}

/** The versions one region's FC holds of a layer, as the 2021-04-06 SDK lists them (none: FC's 404). */
export async function listLayerVersions(fcUrl: string, region: string, layerName: string): Promise<{ version: number; codeChecksum: string }[]> {
  try {
    const body = (await fc2021Client(fcUrl, region).listLayerVersions(layerName, new fc2021.ListLayerVersionsRequest({ limit: 100 }))).body!;
    return (body.layers ?? []).map((layer) => ({ version: layer.version!, codeChecksum: layer.codeChecksum! }));
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return [];
    throw error;
  }
}

/** CreateLayerVersion in one region from an object of that region's OSS, as the publisher does with a staged copy. */
export async function createLayerVersionFromOss(
  fcUrl: string,
  region: string,
  layerName: string,
  bucket: string,
  key: string,
): Promise<Record<string, unknown>> {
  const code = new fc2021.Code({ ossBucketName: bucket, ossObjectName: key });
  const request = new fc2021.CreateLayerVersionRequest({ code, compatibleRuntime: ['nodejs20'], description: 'staged by hand' });
  return (await fc2021Client(fcUrl, region).createLayerVersion(layerName, request)).body!.toMap();
}

/** FC 3.0 CreateFunction of a Node.js function that uses these layer version ARNs. */
export async function createFunction(fcUrl: string, functionName: string, layers: string[]): Promise<Record<string, unknown>> {
  const body = new fc2023.CreateFunctionInput({
    functionName,
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: new fc2023.InputCodeLocation({ zipFile: Buffer.from(zipSync({ 'index.js': strToU8('exports.handler = async () => "ok";') })).toString('base64') }),
    layers,
  });
  return (await fc3Client(fcUrl).createFunction(new fc2023.CreateFunctionRequest({ body }))).body!.toMap();
}

export async function updateFunctionLayers(fcUrl: string, functionName: string, layers: string[]): Promise<Record<string, unknown>> {
  const body = new fc2023.UpdateFunctionInput({ layers });
  return (await fc3Client(fcUrl).updateFunction(functionName, new fc2023.UpdateFunctionRequest({ body }))).body!.toMap();
}

export async function listFc3Functions(fcUrl: string): Promise<Record<string, unknown>> {
  return (await fc3Client(fcUrl).listFunctions(new fc2023.ListFunctionsRequest({ limit: 100 }))).body!.toMap();
}

/** A layer version made by hand through the 2021-04-06 API, outside the bucket. */
export async function createLayerVersionByHand(fcUrl: string, layerName: string, zip: Uint8Array): Promise<Record<string, unknown>> {
  const code = new fc2021.Code({ zipFile: Buffer.from(zip).toString('base64') });
  const request = new fc2021.CreateLayerVersionRequest({ code, compatibleRuntime: ['nodejs20'], description: 'made by hand' });
  return (await fc2021Client(fcUrl).createLayerVersion(layerName, request)).body!.toMap();
}
