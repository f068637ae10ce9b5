import { InvalidInputError } from '../errors';
import { LAYOUT_PLACES, type LayoutPlace, type LayoutSummary, type ZipContents } from './layout';

/** Runtimes whose code finds its files itself, so any layout can serve them (docs/contract.md §4). */
function acceptsAnyLayout(runtime: string): boolean {
  return runtime === 'go1' || runtime.startsWith('dotnetcore') || runtime === 'custom' || runtime.startsWith('custom.');
}

/** The runtime family (by name prefix) that a layout place serves; bin/ and lib/ serve every runtime. */
const PLACE_FAMILY: Partial<Record<LayoutPlace, string>> = {
  'nodejs/node_modules/': 'nodejs',
  'python/': 'python',
  'java/lib/': 'java',
  'php/': 'php',
};

/**
 * Throws ZipLayoutInvalid unless the archive puts files where Function Compute looks for the manifest's
 * runtimes. A zip of zips is refused whatever the runtimes: FC does not unpack nested archives.
 */
export function checkLayout(contents: ZipContents, runtimes: readonly string[]): void {
  const { layout } = contents;
  assertHasFiles(layout);
  assertNotOnlyZips(layout);
  if (runtimes.every(acceptsAnyLayout)) return;
  const accepted = acceptedPlaces(runtimes);
  if (accepted.some((place) => layout.places.has(place))) return;
  throw new InvalidInputError('ZipLayoutInvalid', layoutMessage(layout, runtimes, accepted), {
    context: { runtimes: [...runtimes], topLevel: layout.topLevel },
  });
}

function assertHasFiles(layout: LayoutSummary): void {
  if (layout.fileCount > 0) return;
  throw new InvalidInputError(
    'ZipLayoutInvalid',
    `the zip holds no file, only ${layout.directoryCount} empty folder(s) (${layout.topLevel.join(', ')}); zip the layer's files, not just its folders`,
    { context: { directories: layout.directoryCount } },
  );
}

function assertNotOnlyZips(layout: LayoutSummary): void {
  if (layout.zipFileCount < layout.fileCount) return;
  const names = listSample(layout.zipFiles, layout.zipFileCount);
  const message =
    layout.zipFileCount === 1
      ? `the zip holds only another zip (${names}); upload the inner archive itself`
      : `the zip holds only other zips (${names}); a layer is one zip of its files: upload the inner archives' contents as one zip`;
  throw new InvalidInputError('ZipLayoutInvalid', message, { context: { innerZips: layout.zipFiles } });
}

function acceptedPlaces(runtimes: readonly string[]): LayoutPlace[] {
  return LAYOUT_PLACES.filter((place) => {
    const family = PLACE_FAMILY[place];
    return family === undefined || runtimes.some((runtime) => runtime.startsWith(family));
  });
}

function layoutMessage(layout: LayoutSummary, runtimes: readonly string[], accepted: readonly LayoutPlace[]): string {
  const mounts = accepted.map((place) => `/opt/${place.slice(0, -1)}`);
  const found = layout.topLevel.length === 0 ? 'nothing usable' : layout.topLevel.join(', ') + (layout.topLevelTruncated ? ' and more' : '');
  return [
    `the zip's layout does not fit its runtimes (${runtimes.join(', ')}): Function Compute mounts a layer at /opt` +
      ` and looks only in ${joinWords(mounts, 'and')}, so the zip's top level must hold ${joinWords(accepted, 'or')}.`,
    `Found at the top level: ${found}.`,
    ...hints(layout, runtimes),
  ].join(' ');
}

/** Specific advice for the mistakes people make most; each hint is one sentence. */
function hints(layout: LayoutSummary, runtimes: readonly string[]): string[] {
  const forFamily = (family: string): boolean => runtimes.some((runtime) => runtime.startsWith(family));
  const advice: string[] = [];
  if (forFamily('nodejs') && layout.nearMisses.has('node_modules/')) {
    advice.push('node_modules/ is at the top level: move it under nodejs/, as nodejs/node_modules/.');
  } else if (forFamily('nodejs') && layout.nearMisses.has('nodejs/')) {
    advice.push('nodejs/ holds no node_modules/: packages go in nodejs/node_modules/.');
  }
  if (forFamily('java') && layout.nearMisses.has('java/')) {
    advice.push('java/ holds no lib/: jars go in java/lib/.');
  }
  if (layout.wrapped !== undefined) {
    const { folder, place } = layout.wrapped;
    advice.push(`The layout sits inside ${folder} (${folder}${place}): zip the folder's contents, not the folder itself.`);
  }
  for (const place of layout.places) {
    const family = PLACE_FAMILY[place];
    if (family !== undefined && !forFamily(family)) {
      advice.push(`${place} only serves ${family} runtimes, which the manifest does not list.`);
    }
  }
  return advice;
}

/** "a, b, c and 4 more": a capped sample of a longer list. */
function listSample(sample: readonly string[], total: number): string {
  const more = total - sample.length;
  return more > 0 ? `${sample.join(', ')} and ${more} more` : sample.join(', ');
}

function joinWords(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
