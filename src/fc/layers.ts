/** A layer version as FC describes it, with the fields the publisher decides on pulled out. */
export interface LayerVersion {
  layerName: string;
  version: number;
  description: string;
  compatibleRuntime: string[];
  /** CRC-64/XZ as an unsigned decimal string; empty when FC did not report one. */
  codeChecksum: string;
  arn: string | undefined;
  createTime: string | undefined;
  /** FC's response body, as returned (written into the result's `layer`). */
  raw: Record<string, unknown>;
  /** FC's request id of the call that answered with this version (`x-fc-request-id`), for provenance. */
  requestId?: string | undefined;
}

/** One function whose configuration names a layer version (retention keeps such versions). */
export interface LayerUse {
  /** `service/function` under the APIs with services, the function's name under FC 3.0. */
  functionName: string;
  layerName: string;
  version: number;
}

export interface CreateLayerVersionInput {
  layerName: string;
  ossBucketName: string;
  ossObjectName: string;
  description: string | undefined;
  compatibleRuntime: string[];
  /** The CRC-64 the zip was verified to have; FC 3.0 checks the code against it (`code.checksum`). */
  checksum: string;
  /** Sent to FC 3.0 only; the other APIs have no such field (docs/contract.md §4). */
  license: string | undefined;
}

/** The layer API the steps use; the FC SDK stays behind it. Failures are thrown as PublisherErrors. */
export interface LayerApi {
  create(input: CreateLayerVersionInput): Promise<LayerVersion>;
  /** Versions numbered `startVersion` or more, newest first; empty when the layer does not exist. */
  versionsFrom(layerName: string, startVersion: number): Promise<LayerVersion[]>;
  delete(layerName: string, version: number): Promise<void>;
  /** PutLayerACL: the layer (all its versions) public or private. Resolves with FC's request id. */
  putAcl(layerName: string, isPublic: boolean): Promise<{ requestId: string | undefined }>;
  /** Every layer version the account's functions name, read from ListFunctions (and ListServices before FC 3.0). */
  layersInUse(): Promise<LayerUse[]>;
}
