import type { LayerApi } from '../fc/layers';
import type { Logger } from '../log/logger';
import type { AclOutcome, PublishResult } from '../result/document';

export interface AclDeps {
  layers: () => LayerApi;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  log: Logger;
}

/**
 * The manifest's `public` made the layer's ACL, once its version is published (or found unchanged:
 * the flag may be all that changed). Unset leaves the ACL as it is. A refusal is recorded in the
 * result, never a failed publish: the version exists, and the next upload tries again.
 */
export async function applyAcl(result: PublishResult, wanted: boolean | undefined, deps: AclDeps): Promise<PublishResult> {
  const { layerName } = result;
  if (wanted === undefined || layerName === undefined || (result.status !== 'published' && result.status !== 'unchanged')) return result;
  return { ...result, acl: await putLayerAcl(layerName, wanted, deps) };
}

/** PutLayerACL, as the result records it: a refusal is an outcome, not an error. */
export async function putLayerAcl(layerName: string, wanted: boolean, deps: AclDeps): Promise<AclOutcome> {
  let acl: AclOutcome;
  try {
    const { requestId } = await deps.retrying('layer.acl', () => deps.layers().putAcl(layerName, wanted));
    acl = { public: wanted, applied: true, ...(requestId === undefined ? {} : { fcRequestId: requestId }) };
    deps.log.info('layer.acl', { layerName, public: wanted });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    acl = { public: wanted, applied: false, error: deps.log.redact(message) };
    deps.log.warn('layer.acl.failed', { layerName, public: wanted, error });
  }
  return acl;
}
