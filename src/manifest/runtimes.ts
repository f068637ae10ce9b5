/**
 * The runtimes Function Compute documents for layers, by API version. 2016-08-15 and 2021-04-06: the
 * docs/contract.md §4 list (CreateLayerVersion 2021-04-06, Layer struct). FC 3.0 (2023-03-30) adds the runtimes
 * of its runtime overview (help.aliyun.com/zh/functioncompute/fc-3-0/user-guide/runtime-overview-3:
 * python3.12 and custom.debian11 on Debian 11) and the Java 17/21 and Debian 12 custom runtimes.
 */
export const RUNTIMES = [
  'nodejs20',
  'nodejs18',
  'nodejs16',
  'nodejs14',
  'nodejs12',
  'nodejs10',
  'nodejs8',
  'nodejs6',
  'python3.10',
  'python3.9',
  'python3',
  'python2.7',
  'java11',
  'java8',
  'php7.2',
  'go1',
  'dotnetcore3.1',
  'dotnetcore2.1',
  'custom.debian10',
  'custom',
] as const;

export const FC3_RUNTIMES = [...RUNTIMES, 'python3.12', 'java17', 'java21', 'custom.debian11', 'custom.debian12'] as const;

export function knownRuntimes(apiVersion: string): readonly string[] {
  return apiVersion === '2023-03-30' ? FC3_RUNTIMES : RUNTIMES;
}

/** Lower-case words, digits and dots: what every runtime id FC has ever used looks like. */
const RUNTIME_ID = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
const MAX_RUNTIME_ID = 64;

/**
 * Why `runtime` cannot be right, or undefined. A known id passes; so does an unknown one shaped like a
 * runtime id, for FC to judge (runtimes come and go faster than this list), unless it is a near miss of
 * a known one: within two edits of it, and not merely another version of it (`nodejs22` is a version
 * of `nodejs20`; `nodjs20` and `python3.1O` are typos).
 */
export function runtimeProblem(runtime: string, known: readonly string[]): string | undefined {
  if (known.includes(runtime)) return undefined;
  const nearest = nearMiss(runtime, known);
  if (nearest !== undefined) return `${JSON.stringify(runtime)} is not a runtime; did you mean ${JSON.stringify(nearest)}?`;
  if (runtime.length <= MAX_RUNTIME_ID && RUNTIME_ID.test(runtime)) return undefined;
  return `${JSON.stringify(runtime)} is not a runtime id (known: ${known.join(', ')})`;
}

/** The known word closest to `word` if it is within two edits and not another version of it. */
export function nearMiss(word: string, known: readonly string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase().trim(), candidate);
    if (distance > 2 || skeleton(word) === skeleton(candidate)) continue;
    if (best === undefined || distance < best.distance) best = { word: candidate, distance };
  }
  return best?.word;
}

/** The id with its version numbers blanked: ids that differ only there are versions of one runtime. */
function skeleton(id: string): string {
  return id.replace(/\d+/g, '#');
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
