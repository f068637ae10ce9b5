import * as z from 'zod/mini';
import { InvalidInputError } from '../errors';
import { describeIssues } from '../validation';

/** Manifests are small; a bigger object is a mistake, refused before it is read (CONTRACT §4). */
export const MAX_MANIFEST_BYTES = 64 * 1024;

export const RUNTIMES = [
  'nodejs20', 'nodejs18', 'nodejs16', 'nodejs14', 'nodejs12', 'nodejs10', 'nodejs8', 'nodejs6',
  'python3.10', 'python3.9', 'python3', 'python2.7',
  'java11', 'java8',
  'php7.2',
  'go1',
  'dotnetcore3.1', 'dotnetcore2.1',
  'custom.debian10', 'custom',
] as const;

export type Runtime = (typeof RUNTIMES)[number];

const LAYER_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

const retainCount = z.int().check(z.minimum(1, { message: 'must keep at least 1 version' }), z.maximum(1000));

// Strict: an unknown field is most often a misspelt one, and must not publish silently.
const manifestSchema = z.strictObject({
  layerName: z.string().check(
    z.refine((name) => LAYER_NAME.test(name), {
      message:
        'must be 1-128 letters, digits, _ and -, starting with a letter or _ (Function Compute layer name rules)',
    }),
  ),
  description: z.optional(z.string().check(z.maxLength(256))),
  // Sent to FC 3.0, recorded otherwise (CONTRACT §4).
  license: z.optional(z.string()),
  // The layer's ACL after a publish; unset leaves it as it is.
  public: z.optional(z.boolean()),
  // Versions kept after a publish (issue 12); `dryRun` only records what would be deleted.
  retain: z.optional(z.union([retainCount, z.strictObject({ keep: retainCount, dryRun: z.optional(z.boolean()) })])),
  compatibleRuntime: z.array(z.enum(RUNTIMES)).check(
    z.minLength(1, { message: 'must list at least one runtime' }),
    z.refine((runtimes) => new Set(runtimes).size === runtimes.length, {
      message: 'lists a runtime more than once',
    }),
  ),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** Parses the manifest's bytes; every failure names the field at fault (`compatibleRuntime[1]: …`). */
export function parseManifest(bytes: Uint8Array, key: string): Manifest {
  const context = { key };
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw manifestTooLarge(key, bytes.byteLength);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InvalidInputError('ManifestInvalid', `manifest ${key} is not valid UTF-8 text`, { context });
  }
  if (text.trim() === '') {
    throw new InvalidInputError('ManifestInvalid', `manifest ${key} is empty; it must be a JSON object`, { context });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError('ManifestInvalid', `manifest ${key} is not valid JSON: ${(error as Error).message}`, {
      context,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidInputError(
      'ManifestInvalid',
      `manifest ${key} must be a JSON object with layerName and compatibleRuntime, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`,
      { context },
    );
  }
  const result = manifestSchema.safeParse(json, { reportInput: true });
  if (!result.success) {
    throw new InvalidInputError('ManifestInvalid', `manifest ${key}: ${describeIssues(result.error.issues)}`, {
      context: { ...context, fields: result.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return result.data;
}

export function manifestTooLarge(key: string, size: number): InvalidInputError {
  return new InvalidInputError(
    'ManifestTooLarge',
    `manifest ${key} is ${size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes (64 KiB)`,
    { context: { key, size, limit: MAX_MANIFEST_BYTES } },
  );
}
