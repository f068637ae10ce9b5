import { type EntryPath, parseEntryName, pathText } from './entry-name';

/** The folders Function Compute adds to its search paths when it mounts a layer at /opt (docs/contract.md §4). */
export const LAYOUT_PLACES = ['nodejs/node_modules/', 'python/', 'java/lib/', 'php/', 'bin/', 'lib/'] as const;
export type LayoutPlace = (typeof LAYOUT_PLACES)[number];

/** Folders people put at the top level by mistake, each worth a specific hint. */
const NEAR_MISSES = ['node_modules/', 'nodejs/', 'java/'] as const;
export type NearMiss = (typeof NEAR_MISSES)[number];

/**
 * Top-level folders that are not a wrapper around the layout: the runtime folders themselves (whose
 * sub-folders may legitimately be called lib/ or bin/) and macOS Finder's resource-fork folder.
 */
const NOT_WRAPPERS = new Set(['__MACOSX', 'node_modules', 'nodejs', 'python', 'java', 'php', 'bin', 'lib']);

// Samples only feed error messages; capping them keeps memory flat for archives with many entries.
const TOP_LEVEL_SAMPLE_SIZE = 20;
const NAME_SAMPLE_SIZE = 3;

/** What the layout rule needs to know about an archive's names, in bounded memory. */
export interface LayoutSummary {
  readonly places: ReadonlySet<LayoutPlace>;
  readonly nearMisses: ReadonlySet<NearMiss>;
  /** The first distinct top-level names, folders ending with '/'. */
  readonly topLevel: readonly string[];
  readonly topLevelTruncated: boolean;
  /** A layout place found one folder down (`my-layer/python/`): the folder was zipped, not its contents. */
  readonly wrapped: { readonly folder: string; readonly place: LayoutPlace } | undefined;
  readonly fileCount: number;
  readonly zipFileCount: number;
  readonly zipFiles: readonly string[];
  readonly directoryCount: number;
}

export interface ZipContents {
  readonly entryCount: number;
  readonly layout: LayoutSummary;
}

export class LayoutCollector {
  private readonly places = new Set<LayoutPlace>();
  private readonly nearMisses = new Set<NearMiss>();
  private readonly topLevel = new Set<string>();
  private topLevelTruncated = false;
  private wrapped: LayoutSummary['wrapped'];
  private fileCount = 0;
  private zipFileCount = 0;
  private readonly zipFiles: string[] = [];
  private directoryCount = 0;

  /** Takes a name that assertSafeName has passed, and its path when already parsed. */
  add(name: string, path: EntryPath | 'root' = parseEntryName(name)): void {
    this.countFile(name);
    if (path === 'root') return;
    this.notePlaces(path);
    this.noteTopLevel(path);
    this.noteWrapper(path);
  }

  summary(): LayoutSummary {
    return {
      places: this.places,
      nearMisses: this.nearMisses,
      topLevel: [...this.topLevel],
      topLevelTruncated: this.topLevelTruncated,
      wrapped: this.wrapped,
      fileCount: this.fileCount,
      zipFileCount: this.zipFileCount,
      zipFiles: this.zipFiles,
      directoryCount: this.directoryCount,
    };
  }

  private countFile(name: string): void {
    if (name.endsWith('/')) {
      this.directoryCount += 1;
      return;
    }
    this.fileCount += 1;
    if (name.toLowerCase().endsWith('.zip')) {
      this.zipFileCount += 1;
      addToSample(this.zipFiles, name, NAME_SAMPLE_SIZE);
    }
  }

  private notePlaces(path: EntryPath): void {
    const text = pathText(path);
    const place = placeOf(text);
    if (place !== undefined) this.places.add(place);
    for (const nearMiss of NEAR_MISSES) {
      if (text.startsWith(nearMiss)) this.nearMisses.add(nearMiss);
    }
  }

  private noteTopLevel(path: EntryPath): void {
    const [first] = path.segments;
    if (first === undefined) return;
    const name = path.segments.length > 1 || path.isDirectory ? `${first}/` : first;
    if (this.topLevel.has(name)) return;
    if (this.topLevel.size < TOP_LEVEL_SAMPLE_SIZE) this.topLevel.add(name);
    else this.topLevelTruncated = true;
  }

  private noteWrapper(path: EntryPath): void {
    // The first segment alone, by index: nearly every entry stops there (a rest pattern would copy the others first).
    const first = path.segments[0];
    if (this.wrapped !== undefined || first === undefined || NOT_WRAPPERS.has(first)) return;
    const rest = path.segments.slice(1);
    const place = placeOf(pathText({ segments: rest, isDirectory: path.isDirectory, key: rest.join('/') }));
    if (place !== undefined) this.wrapped = { folder: `${first}/`, place };
  }
}

/** A path counts for a place when it is that folder or lies inside it: files imply their folders. */
function placeOf(pathText: string): LayoutPlace | undefined {
  return LAYOUT_PLACES.find((place) => pathText.startsWith(place));
}

function addToSample(sample: string[], name: string, size: number): void {
  if (sample.length < size) sample.push(name);
}
