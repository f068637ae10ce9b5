/** An entry name as the layout rule sees it. */
export interface EntryPath {
  /** Path segments, without empty or '.' ones; never contains '..'. */
  readonly segments: readonly string[];
  readonly isDirectory: boolean;
}

/**
 * Normalises a raw entry name: Windows tools write backslashes, some archivers prefix './'. A name that
 * would land outside the extraction folder (absolute, a drive letter, '..') is 'unsafe': it cannot put
 * anything where Function Compute looks. 'root' is an entry for the archive's own folder ('./').
 */
export function parseEntryName(rawName: string): EntryPath | 'unsafe' | 'root' {
  const name = rawName.replaceAll('\\', '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0')) return 'unsafe';
  const parts = name.split('/');
  if (parts.includes('..')) return 'unsafe';
  const segments = parts.filter((part) => part !== '' && part !== '.');
  if (segments.length === 0) return 'root';
  return { segments, isDirectory: name.endsWith('/') };
}

/** The path as the layout rule compares it: directories, explicit or implied, end with '/'. */
export function pathText(path: EntryPath): string {
  return path.segments.join('/') + (path.isDirectory ? '/' : '');
}
