import { InvalidInputError } from '../errors';
import type { ZipEntry } from './entry';
import { CONTROL, firstEntryInside, pathKey } from './entry-name';

/** The longest symlink target read; real ones are a few dozen bytes, and PATH_MAX is 4096. */
export const MAX_LINK_TARGET_BYTES = 4096;

function layoutInvalid(entry: string, message: string): InvalidInputError {
  return new InvalidInputError('ZipLayoutInvalid', `symlink ${JSON.stringify(entry)} ${message}; a layer's links must stay inside it`, {
    context: { entry },
  });
}

/** The paths of the archive's symlinks, for the checks below. */
export function linkPaths(entries: readonly ZipEntry[]): Set<string> {
  return new Set(entries.filter((entry) => entry.symlink).map((entry) => pathKey(entry.path)));
}

/**
 * An entry under a symlink's path is written through the link when extracted, wherever it points; and a
 * link whose path runs through another link resolves from somewhere else than its name says.
 */
export function assertNothingInsideLinks(entries: readonly ZipEntry[], links: ReadonlySet<string>): void {
  if (links.size === 0) return;
  const inside = firstEntryInside(entries, links);
  if (inside === undefined) return;
  const { name, folder: link } = inside;
  throw new InvalidInputError(
    'ZipLayoutInvalid',
    `entry ${JSON.stringify(name)} lies inside the symlink ${JSON.stringify(link)}, so extracting it writes wherever the link points; re-zip the layer without it`,
    { context: { entry: name } },
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Throws ZipLayoutInvalid unless the link's target (its entry's data) stays inside the layer. */
export function assertLinkInside(entry: ZipEntry, targetBytes: Uint8Array, links: ReadonlySet<string>): void {
  if (entry.uncompressedSize > MAX_LINK_TARGET_BYTES) throw layoutInvalid(entry.name, `has a target of ${entry.uncompressedSize} bytes`);
  let target: string;
  try {
    target = utf8.decode(targetBytes);
  } catch {
    throw layoutInvalid(entry.name, 'has a target that is not UTF-8 text');
  }
  const { path } = entry;
  if (path === 'root') throw layoutInvalid(entry.name, "is the archive's root folder");
  if (target === '' || CONTROL.test(target)) throw layoutInvalid(entry.name, 'has an empty target or one with control characters');
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\')) {
    throw layoutInvalid(entry.name, `points to the absolute path ${JSON.stringify(target)}`);
  }
  const resolved = path.segments.slice(0, -1);
  const parts = target.split('/').filter((part) => part !== '' && part !== '.');
  parts.forEach((part, index) => {
    if (part !== '..') resolved.push(part);
    else if (resolved.pop() === undefined) throw layoutInvalid(entry.name, `points to ${JSON.stringify(target)}, above the layer's root`);
    // A link met on the way (not at the end, which is checked on its own) changes where the rest leads.
    if (index < parts.length - 1 && links.has(resolved.join('/'))) {
      throw layoutInvalid(entry.name, `points through another symlink (${JSON.stringify(resolved.join('/'))})`);
    }
  });
}
