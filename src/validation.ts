import type * as z from 'zod/mini';

/**
 * Turns zod issues into sentences that name the exact field (`compatibleRuntime[1]`), so a person
 * can fix the input without reading a stack trace. Written here rather than loading zod's locale,
 * which would add to the bundle every cold start pays for.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], root = ''): string {
  return issues.map((issue) => describeIssue(issue, root)).join('; ');
}

export function formatPath(path: readonly PropertyKey[], root = ''): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue, root: string): string {
  const where = formatPath(issue.path, root);
  // A message set on the schema is already written for people; keep it.
  if (issue.message && issue.message !== 'Invalid input') return `${where}: ${issue.message}`;
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `${where}: is required` : `${where}: must be ${article(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${formatPath([...issue.path, key], root)}: is not a known field`).join('; ');
    case 'invalid_value':
      return `${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'too_big':
      return `${where}: must be at most ${issue.maximum} ${unitOf(issue.origin)}`;
    case 'too_small':
      return `${where}: must be at least ${issue.minimum} ${unitOf(issue.origin)}`;
    case 'invalid_format':
      return `${where}: is not a valid ${issue.format}`;
    default:
      return `${where}: is invalid`;
  }
}

function unitOf(origin: string): string {
  if (origin === 'string') return 'characters';
  if (origin === 'array' || origin === 'set') return 'items';
  return '';
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * A schema built on its first use rather than at load: zod sets each schema up when it is declared, and
 * an invocation that never reads that kind of answer (an ignored event never calls FC) should not pay for it.
 */
export function builtOnFirstUse<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
