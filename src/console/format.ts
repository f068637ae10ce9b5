/** Output helpers shared by `npm start` and the CLI. */

/** The one size formatter: bytes below 1 KiB, else KiB, MiB or GiB (binary units, as OSS and FC state their limits). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** formatBytes with the exact count beside it, for a limit where one byte decides: "10.0 MiB (10485761 bytes)". */
export function formatExactBytes(bytes: number): string {
  return bytes < 1024 ? formatBytes(bytes) : `${formatBytes(bytes)} (${bytes} bytes)`;
}

/** Decimal megabytes per second, as download tools print them. */
export function formatRate(bytes: number, ms: number): string {
  return `${(bytes / 1e3 / Math.max(ms, 1)).toFixed(0)} MB/s`;
}

/** "45s", "12m", "3h05m", "2d04h": how long ago, to the unit a person reads at a glance. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

export interface TableOptions {
  /**
   * The terminal's width in columns: the widest columns are narrowed until the table fits, their
   * cells cut with `…`. Undefined fits nothing (output to a pipe or a file, or `--wide`).
   */
  width?: number | undefined;
}

const GAP = '  ';
const CUT = '…';
/** No column is narrowed below its title or this, whichever is less wide than its widest cell. */
const MIN_COLUMN = 6;

/** Plain columns padded to their widest cell, fitted to `options.width`; the header is underlined with dashes. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const natural = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const widths = options.width === undefined ? natural : fitted(natural, header, options.width);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cut(cell, widths[column] ?? 0).padEnd(widths[column] ?? 0))
      .join(GAP)
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/**
 * Column widths whose sum (with the gaps) is at most `width`: the widest column loses one column at a
 * time, so long free text (a message, a key) gives way before the short columns a person scans.
 * A table that cannot fit even so keeps every column at its floor.
 */
function fitted(natural: readonly number[], header: readonly string[], width: number): number[] {
  const widths = [...natural];
  const floors = natural.map((w, column) => Math.min(w, Math.max(MIN_COLUMN, header[column]?.length ?? 0)));
  let total = widths.reduce((sum, w) => sum + w, 0) + GAP.length * Math.max(0, widths.length - 1);
  while (total > width) {
    let widest = -1;
    for (const [column, w] of widths.entries()) {
      if (w > floors[column]! && (widest === -1 || w > widths[widest]!)) widest = column;
    }
    if (widest === -1) break;
    widths[widest]! -= 1;
    total -= 1;
  }
  return widths;
}

/** The cell, or its start and `…` when it is wider than the column. */
export function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - CUT.length))}${CUT}`;
}
