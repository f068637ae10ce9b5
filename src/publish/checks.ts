import type { AllowRule } from '../config';
import { InvalidInputError } from '../errors';

/** ALLOWED_LAYERS (docs/contract.md §2): write access to the bucket must not mean publishing any layer. */
export function checkAllowed(layerName: string, zipKey: string, rules: readonly AllowRule[]): void {
  if (rules.length === 0) return;
  const applicable = rules.filter((rule) => zipKey.startsWith(rule.keyPrefix));
  if (applicable.some((rule) => rule.pattern.test(layerName))) return;
  const allowedHere = applicable.map((rule) => rule.source);
  throw new InvalidInputError(
    'LayerNotAllowed',
    `layerName ${JSON.stringify(layerName)} may not be published from ${zipKey}: ` +
      (allowedHere.length === 0 ? 'ALLOWED_LAYERS allows no layer under this key' : `ALLOWED_LAYERS allows only ${allowedHere.join(', ')} here`),
    { context: { layerName, key: zipKey, allowed: allowedHere } },
  );
}

/** Step 3's size checks, made on HEAD's answer before any byte is read. */
export function checkZipSize(size: number, zipKey: string, maxZipBytes: number): void {
  if (size > maxZipBytes) {
    throw new InvalidInputError('ZipTooLarge', `zip ${zipKey} is ${size} bytes, over MAX_ZIP_BYTES (${maxZipBytes} bytes)`, {
      context: { key: zipKey, size, limit: maxZipBytes },
    });
  }
  if (size === 0) {
    throw new InvalidInputError('ZipInvalid', `zip ${zipKey} is empty (0 bytes); upload the layer zip again`, {
      context: { key: zipKey, size: 0 },
    });
  }
}
