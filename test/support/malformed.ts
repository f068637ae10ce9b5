/**
 * Breaking a valid value on purpose, to see it refused, while it keeps its type: the value is the one
 * the test read (a fixture, a parsed s.yaml), and `key` is checked against the keys its type names.
 */

/** Deletes `key` from `value`, though its type requires it. */
export function deleteField<T extends object>(value: T, key: keyof T): void {
  delete (value as Partial<T>)[key];
}

/** Sets `key` of `value` to `to`, which its type need not allow (a number for a string, null for an object). */
export function setField<T extends object>(value: T, key: keyof T, to: unknown): void {
  (value as Record<keyof T, unknown>)[key] = to;
}
