import { randomBytes } from 'node:crypto';

/**
 * A refusal an emulated service answers with its own error shape (OSS XML, FC JSON). Operations
 * throw it; each emulator renders it, so the checks read like the service's rules.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields the service adds to this error's body (OSS `<Condition>`, `<Key>`…). */
    readonly details: Record<string, string> = {},
    /** Headers the answer carries besides the body (OSS `x-oss-next-append-position`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** 24 upper-case hex digits, the shape of OSS and FC request ids. */
export function newRequestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Headers that carry credentials: kept out of request logs (docs/contract.md §8: never a secret anywhere). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-oss-security-token', 'x-fc-security-token']);

export function loggableHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!CREDENTIAL_HEADERS.has(name)) kept[name] = value;
  });
  return kept;
}

export async function readBody(request: Request): Promise<Uint8Array> {
  return new Uint8Array(await request.arrayBuffer());
}
