import * as z from 'zod/mini';
import { InvalidInputError } from '../errors';
import { describeIssues } from '../validation';
import { manifestRegionsField } from '../regions/targets';
import { manifestCanaryField, manifestRolloutField } from '../rollout/manifest-fields';
import { knownRuntimes, nearMiss, runtimeProblem } from './runtimes';
import { NOTICE_TARGETS } from '../config';

export { FC3_RUNTIMES, RUNTIMES, knownRuntimes } from './runtimes';

/** Manifests are small; a bigger object is a mistake, refused before it is read (docs/contract.md §4). */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** Function Compute's layer name rule; the CLI checks names from the audit trail against it too. */
export const LAYER_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

const FIELDS = ['layerName', 'description', 'compatibleRuntime', 'license', 'public', 'retain', 'regions', 'notify', 'rollout', 'canary'];

const retainCount = z.int().check(z.minimum(1, { message: 'must keep at least 1 version' }), z.maximum(1000));

// Strict: an unknown field is most often a misspelt one, and must not publish silently.
function manifestSchema(apiVersion: string) {
  const known = knownRuntimes(apiVersion);
  return z
    .strictObject({
      layerName: z.string().check(
        z.refine((name) => LAYER_NAME.test(name), {
          message: 'must be 1-128 letters, digits, _ and -, starting with a letter or _ (Function Compute layer name rules)',
        }),
      ),
      description: z.optional(z.string().check(z.maxLength(256))),
      compatibleRuntime: z
        .array(
          z.string().check(
            z.refine((runtime) => runtimeProblem(runtime, known) === undefined, {
              error: (issue) => runtimeProblem(String(issue.input), known),
            }),
          ),
        )
        .check(
          z.minLength(1, { message: 'must list at least one runtime' }),
          z.refine((runtimes) => new Set(runtimes).size === runtimes.length, {
            message: 'lists a runtime more than once',
          }),
        ),
      // Sent to FC 3.0 (2023-03-30), which keeps it with the version; recorded under the other APIs.
      license: z.optional(z.string()),
      // The layer's ACL after a publish; unset leaves it as it is.
      public: z.optional(z.boolean()),
      // Versions kept after a publish; `dryRun` only records what would be deleted.
      retain: z.optional(z.union([retainCount, z.strictObject({ keep: retainCount, dryRun: z.optional(z.boolean()) })])),
      // Which of REGIONS this layer goes to besides the home region; absent means all.
      regions: manifestRegionsField,
      // Which of the configured notice targets hear about this layer (docs/index-and-notices.md); [] silences it.
      notify: z.optional(
        z.array(z.enum(NOTICE_TARGETS)).check(z.refine((targets) => new Set(targets).size === targets.length, { message: 'lists a target more than once' })),
      ),
      // Functions moved to the new version once it is published, and an alias's canary (docs/rollout.md).
      rollout: manifestRolloutField,
      canary: manifestCanaryField,
    })
    .check(
      z.refine((manifest) => manifest.canary === undefined || manifest.rollout !== undefined, {
        message: 'canary needs rollout: name the functions whose alias takes the canary',
        path: ['canary'],
      }),
    );
}

const schemas = new Map<string, ReturnType<typeof manifestSchema>>();

export type Manifest = z.infer<ReturnType<typeof manifestSchema>>;

/** "descripton: is not a known field; did you mean description?" */
function describeManifestIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      if (issue.code !== 'unrecognized_keys') return describeIssues([issue]);
      return issue.keys
        .map((key) => {
          const nearest = nearMiss(key, FIELDS);
          const hint = nearest === undefined ? ` (fields: ${FIELDS.join(', ')})` : `; did you mean ${nearest}?`;
          return `${key}: is not a known field${hint}`;
        })
        .join('; ');
    })
    .join('; ');
}

/**
 * Parses the manifest's bytes; every failure names the field at fault (`compatibleRuntime[1]: …`). The
 * runtimes allowed are those of `apiVersion`, the FC API in use (FC_API_VERSION).
 */
export function parseManifest(bytes: Uint8Array, key: string, apiVersion = '2021-04-06'): Manifest {
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
  let schema = schemas.get(apiVersion);
  if (schema === undefined) {
    schema = manifestSchema(apiVersion);
    schemas.set(apiVersion, schema);
  }
  const result = schema.safeParse(json, { reportInput: true });
  if (!result.success) {
    throw new InvalidInputError('ManifestInvalid', `manifest ${key}: ${describeManifestIssues(result.error.issues)}`, {
      context: { ...context, fields: result.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return result.data;
}

export function manifestTooLarge(key: string, size: number): InvalidInputError {
  return new InvalidInputError('ManifestTooLarge', `manifest ${key} is ${size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes (64 KiB)`, {
    context: { key, size, limit: MAX_MANIFEST_BYTES },
  });
}
