// @alicloud/fc2 ships no type declarations; this is the part of lib/client.js the adapter uses.
declare module '@alicloud/fc2/lib/client.js' {
  interface FcResponse {
    headers: Record<string, string | undefined>;
    data: unknown;
  }
  class Client {
    constructor(
      accountId: string,
      config: {
        accessKeyID: string;
        accessKeySecret: string;
        securityToken?: string | undefined;
        region: string;
        endpoint?: string;
        timeout?: number;
      },
    );
    version: string;
    publishLayerVersion(layerName: string, body: object): Promise<FcResponse>;
    listLayerVersions(layerName: string, query: Record<string, string | number>): Promise<FcResponse>;
    deleteLayerVersion(layerName: string, version: number): Promise<FcResponse>;
  }
  export = Client;
}
