/**
 * The three objects of one layer (docs/contract.md §3). Keys are used verbatim, as the event gives them:
 * never URL-decoded, never normalised.
 */
export interface LayerKeys {
  /** `<dir>/<stem>`, shared by the three keys. */
  base: string;
  zip: string;
  manifest: string;
  result: string;
}

export type KeyRole = 'zip' | 'manifest';

export const ZIP_SUFFIX = '.zip';
export const MANIFEST_SUFFIX = '.layer.json';
export const RESULT_SUFFIX = '.result.json';
/** OSS object keys are at most 1023 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1023;

/** The sibling key this layer cannot have because OSS would refuse it, if any. */
export function keyOverLimit(keys: LayerKeys): string | undefined {
  return [keys.manifest, keys.result].find((key) => Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES);
}

/**
 * Why a key cannot be addressed as it is, if so. HTTP clients resolve `.` and `..` path segments
 * before sending (ali-oss builds the URL with url.format and urllib sends it resolved:
 * `layers/../x.zip` goes out as `/x.zip`), while the signature covers the key as written; and
 * `%2E` does not help, since ali-oss escapes the `%` and WHATWG URLs resolve `%2E%2E` as `..` too.
 * Such a key would reach another object, or none, on every try.
 */
export function unaddressableReason(key: string): string | undefined {
  const segment = key.split('/').find((part) => part === '.' || part === '..');
  if (segment === undefined) return undefined;
  return `its path has a "${segment}" segment, which HTTP clients resolve before sending, so no request can address the object; rename it without "." or ".." segments`;
}

/** What an event's key is to the publisher, or undefined for keys it ignores. */
export function classifyKey(key: string, auditPrefix: string): { role: KeyRole; keys: LayerKeys } | undefined {
  // Nothing under the audit prefix is a layer: those objects are the publisher's own.
  if (key.startsWith(auditPrefix)) return undefined;
  const role: KeyRole | undefined = key.endsWith(ZIP_SUFFIX) ? 'zip' : key.endsWith(MANIFEST_SUFFIX) ? 'manifest' : undefined;
  if (role === undefined) return undefined;
  const base = key.slice(0, key.length - (role === 'zip' ? ZIP_SUFFIX : MANIFEST_SUFFIX).length);
  // `layers/.zip` has no stem: no layer can be named by it, and it is most likely a mistake.
  if (base === '' || base.endsWith('/')) return undefined;
  return { role, keys: layerKeys(base) };
}

export function layerKeys(base: string): LayerKeys {
  return { base, zip: base + ZIP_SUFFIX, manifest: base + MANIFEST_SUFFIX, result: base + RESULT_SUFFIX };
}
