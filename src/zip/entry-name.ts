import { InvalidInputError } from '../errors';

/** An entry name as the layout rule sees it. */
export interface EntryPath {
  /** Path segments, without empty or '.' ones; never contains '..'. */
  readonly segments: readonly string[];
  readonly isDirectory: boolean;
  /** The segments joined by '/': what two names for one path have in common. */
  readonly key: string;
}

/**
 * The path an extractor writes a checked name to: empty and '.' segments dropped, as Info-ZIP and Python
 * do. 'root' is an entry for the archive's own folder ('./').
 */
export function parseEntryName(name: string): EntryPath | 'root' {
  const isDirectory = name.endsWith('/');
  const body = isDirectory ? name.slice(0, -1) : name;
  // Nearly every name has no empty or '.' segment and is its own key: one split, and nothing joined.
  if (isPlain(body)) return { segments: body.split('/'), isDirectory, key: body };
  const segments = name.split('/').filter((part) => part !== '' && part !== '.');
  if (segments.length === 0) return 'root';
  return { segments, isDirectory, key: segments.join('/') };
}

/** Whether splitting at '/' gives no empty and no '.' segment. */
function isPlain(body: string): boolean {
  return (
    body !== '' &&
    body !== '.' &&
    !body.startsWith('/') &&
    !body.startsWith('./') &&
    !body.endsWith('/') &&
    !body.endsWith('/.') &&
    !body.includes('//') &&
    !body.includes('/./')
  );
}

/** The key of a parsed name; the archive's root folder has the empty key. */
export function pathKey(path: EntryPath | 'root'): string {
  return path === 'root' ? '' : path.key;
}

/** The path as the layout rule compares it: directories, explicit or implied, end with '/'. */
export function pathText(path: EntryPath): string {
  return path.isDirectory ? `${path.key}/` : path.key;
}

/** The keys of the folders a path lies in, outermost first: `a/b/c` lies in `a` and `a/b`. */
export function enclosingFolders(path: EntryPath): string[] {
  const folders: string[] = [];
  for (let at = path.key.indexOf('/'); at !== -1; at = path.key.indexOf('/', at + 1)) folders.push(path.key.slice(0, at));
  return folders;
}

/** The first of `entries` that lies inside one of `folders` (path keys), with that folder; in the entries' order. */
export function firstEntryInside(
  entries: readonly { readonly name: string; readonly path: EntryPath | 'root' }[],
  folders: ReadonlySet<string>,
): { name: string; folder: string } | undefined {
  for (const { name, path } of entries) {
    if (path === 'root') continue;
    const folder = enclosingFolders(path).find((key) => folders.has(key));
    if (folder !== undefined) return { name, folder };
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Throws ZipLayoutInvalid for a name that cannot land where it says (docs/contract.md §4): one that leaves the
 * extraction folder (absolute, a drive letter, a '..' segment), or that tools read differently (a
 * backslash: Info-ZIP and Python extract `nodejs\node_modules\x` as one top-level file; a control
 * character or NUL, which C extractors cut the name at).
 */
export function assertSafeName(name: string): void {
  const problem = nameProblem(name);
  if (problem === undefined) return;
  throw new InvalidInputError('ZipLayoutInvalid', `entry ${JSON.stringify(name)} ${problem}; re-zip the layer with relative paths inside it`, {
    context: { entry: name },
  });
}

function nameProblem(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (CONTROL.test(name)) return 'has a NUL or control character in its name';
  if (name.includes('\\')) return 'has a backslash in its name (tools disagree whether it separates folders)';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.split('/').includes('..')) return 'has a ".." segment, which climbs out of the layer';
  return undefined;
}
