import { ServiceError } from './service';

/**
 * FC 3.0's published function versions and aliases (API 2023-03-30), as the official SDK's models
 * name them: `Version {versionId, description, createdTime, lastModifiedTime}` and `Alias {aliasName,
 * versionId, additionalVersionWeight, description, createdTime, lastModifiedTime}`.
 */

/** A function's configuration as a version freezes it: what GetFunction with that qualifier answers. */
export interface FunctionConfig<L> {
  runtime?: string;
  handler?: string;
  layers: L[];
}

export interface StoredFunctionVersion<L> {
  versionId: string;
  description: string;
  createdTime: string;
  config: FunctionConfig<L>;
}

export interface StoredAlias {
  aliasName: string;
  versionId: string;
  /** Version id → share of the traffic it takes from `versionId` (a canary), e.g. `{"2": 0.1}`. */
  additionalVersionWeight: Record<string, number>;
  description: string;
  createdTime: string;
  lastModifiedTime: string;
}

/** What CreateAlias and UpdateAlias were given; UpdateAlias leaves out what it does not change. */
export interface AliasInput {
  aliasName?: string;
  versionId?: string;
  description?: string;
  additionalVersionWeight?: Record<string, number>;
}

/** FC's rule for function and alias names: a letter or `_` first, then letters, digits, `_` and `-`, at most 128. */
export const RESOURCE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
/** The qualifier that names a function's current configuration rather than a version or an alias. */
export const LATEST = 'LATEST';

export function versionView<L>(version: StoredFunctionVersion<L>): object {
  const { versionId, description, createdTime } = version;
  // A published version never changes: its last modification is its creation.
  return { versionId, description, createdTime, lastModifiedTime: createdTime };
}

export function aliasView(alias: StoredAlias): object {
  return { ...alias };
}

/** CreateAliasInput or UpdateAliasInput, checked field by field. */
export function parseAliasInput(body: Record<string, unknown>, creating: boolean): AliasInput {
  const input: AliasInput = {};
  if (creating) {
    const aliasName = body.aliasName;
    if (typeof aliasName !== 'string' || !RESOURCE_NAME.test(aliasName)) {
      throw invalid(`aliasName ${JSON.stringify(aliasName)} must start with a letter or _, hold only letters, digits, _ and -, and be at most 128 characters.`);
    }
    input.aliasName = aliasName;
  }
  if (body.versionId !== undefined || creating) {
    if (typeof body.versionId !== 'string' || !/^[1-9]\d*$/.test(body.versionId))
      throw invalid(`versionId ${JSON.stringify(body.versionId)} must be the id of a published version, e.g. "1".`);
    input.versionId = body.versionId;
  }
  if (body.description !== undefined) {
    if (typeof body.description !== 'string') throw invalid('description must be a string.');
    input.description = body.description;
  }
  if (body.additionalVersionWeight !== undefined) input.additionalVersionWeight = weights(body.additionalVersionWeight);
  return input;
}

/** Each weight a share from 0 to 1 of a version other than the alias's own, their sum at most 1. */
export function checkWeights(versionId: string, weightsByVersion: Record<string, number>, published: (versionId: string) => boolean): void {
  for (const other of Object.keys(weightsByVersion)) {
    if (other === versionId) throw invalid(`additionalVersionWeight names version ${other}, which is the alias's own versionId.`);
    if (!published(other)) throw versionNotFound(other);
  }
  const total = Object.values(weightsByVersion).reduce((sum, weight) => sum + weight, 0);
  if (total > 1) throw invalid(`additionalVersionWeight adds up to ${total}; the weights of the additional versions add up to at most 1.`);
}

function weights(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('additionalVersionWeight must be an object of version id → weight, e.g. {"2": 0.1}.');
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [versionId, weight] of entries) {
    if (!/^[1-9]\d*$/.test(versionId)) throw invalid(`additionalVersionWeight: ${JSON.stringify(versionId)} is not a version id.`);
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw invalid(`additionalVersionWeight["${versionId}"] must be a number from 0 to 1.`);
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

export function versionNotFound(versionId: string): ServiceError {
  return new ServiceError(404, 'VersionNotFound', `version ${versionId} does not exist`);
}

export function aliasNotFound(aliasName: string): ServiceError {
  return new ServiceError(404, 'AliasNotFound', `alias ${aliasName} does not exist`);
}

export function invalid(message: string): ServiceError {
  return new ServiceError(400, 'InvalidArgument', message);
}
