// @alicloud/fc2 ships no type declarations; this is the part of lib/client.js the adapter uses.
declare module '@alicloud/fc2/lib/client.js' {
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
    readonly endpoint: string;
    readonly accessKeyID: string;
    readonly accessKeySecret: string;
    /** accept, date, host, user-agent, x-fc-account-id and, for STS keys, x-fc-security-token. */
    buildHeaders(): Record<string, string>;
    static getSignature(accessKeyId: string, accessKeySecret: string, method: string, resource: string, headers: Record<string, string>, queries: null): string;
  }
  export = Client;
}
