import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './io';

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbours each cost 1, so `--bukcet` is one step from `--bucket`.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      rows[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate a typo most likely meant: within 2 edits, and fewer than half the word's letters,
 * so a short unrelated word is not "corrected". Undefined when nothing is that close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && distance * 2 < Math.max(word.length, candidate.length) && (best === undefined || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

/** `; did you mean X?` when one of the candidates is close, else the empty string. */
export function didYouMean(word: string, candidates: readonly string[], show: (candidate: string) => string = (c) => c): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${show(match)}?`;
}

/** node:util's parseArgs, its mistakes turned into one-line usage errors that suggest the flag meant. */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw flagError(error, Object.keys(config.options ?? {}));
  }
}

function flagError(error: unknown, flags: readonly string[]): unknown {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS') || typeof message !== 'string') return error;
  // parseArgs quotes the offending option first: "Unknown option '--bukcet'. To specify a positional...".
  const quoted = /'(-[^' ]*)/.exec(message)?.[1];
  // The other parse errors (a missing or ambiguous value) already name the flag, over several lines.
  if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || quoted === undefined) return new CliError(message.replace(/\s*\n\s*/g, ' '));
  const name = quoted.replace(/^-+/, '').split('=')[0]!;
  const hint = didYouMean(name, flags, (flag) => `--${flag}`);
  return new CliError(`unknown flag ${quoted}${hint || ` (flags: ${flags.map((flag) => `--${flag}`).join(', ')})`}`);
}

/**
 * OSS's bucket naming rule: 3 to 63 characters, lowercase letters, digits and hyphens, starting and
 * ending with a letter or digit. Checked before any request so the flag is named, not a stack.
 */
export function checkBucketName(flag: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) {
    throw new CliError(
      `${flag} ${JSON.stringify(name)} is not a valid bucket name: 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
    );
  }
  return name;
}
