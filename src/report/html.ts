import { type VersionContents, changeLines, diffContents } from './contents';
import { consumerLabel, type LayerConsumer } from '../rollout/consumers';
import type { VerifyReport } from './drift';
import type { LayerTimeline, TimelineRow } from './timeline';

export interface ReportInput {
  bucket: string;
  prefix: string;
  timelines: readonly LayerTimeline[];
  /** Undefined when the report was not compared with Function Compute. */
  verify: VerifyReport | undefined;
  /** What each version holds, from the contents recorded for it; absent when they were not read. */
  contents?: readonly VersionContents[] | undefined;
  /** Who uses each layer's versions (FC 3.0), or why it could not be read; undefined when not asked. */
  consumers?: readonly LayerConsumer[] | { error: string } | undefined;
  generatedAt: Date;
}

/**
 * One self-contained page: inline CSS, no script, nothing fetched, so it reads the same offline, in
 * a mail attachment or a CI artefact. Everything from the bucket is escaped: layer names, messages
 * and principal ids are whatever someone wrote there. The page's policy forbids scripts and fetches
 * besides, so a mistake in escaping could not run anything.
 */
export function renderReport(input: ReportInput): string {
  const { timelines, verify } = input;
  const rows = timelines.reduce((sum, layer) => sum + layer.rows.filter((row) => row.status !== 'drift').length, 0);
  const drift = timelines.reduce((sum, layer) => sum + layer.drift, 0);
  const compared = verify
    ? `Compared with Function Compute at ${time(verify.checkedAt)}: ${drift === 0 ? 'no drift' : `<strong class="drift-count">${drift} drifted</strong>`}.`
    : 'Not compared with Function Compute (pass --fc-endpoint or --account-id to find drift).';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Layer audit: ${escapeHtml(input.bucket)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Layer audit report</h1>
<p class="meta">Bucket <code>${escapeHtml(input.bucket)}</code>${input.prefix ? `, prefix <code>${escapeHtml(input.prefix)}</code>` : ''}; ${timelines.length} layer${plural(timelines.length)}, ${rows} record${plural(rows)}; generated ${time(input.generatedAt.toISOString())}.</p>
<p class="meta" id="compared">${compared}</p>
</header>
<main>
${timelines.length === 0 ? '<p>No audit records or results in the bucket.</p>' : timelines.map((layer) => renderLayer(layer, contentsOf(input.contents, layer.layerName), input.consumers)).join('\n')}
</main>
</body>
</html>
`;
}

function renderLayer(layer: LayerTimeline, contents: readonly VersionContents[], consumers: ReportInput['consumers']): string {
  const name = layer.layerName === undefined ? '<span class="unnamed">Uploads without a valid layer name</span>' : escapeHtml(layer.layerName);
  const held =
    layer.fcVersions === undefined
      ? ''
      : `<p class="held">Function Compute holds ${layer.fcVersions.length === 0 ? 'no version' : `version${plural(layer.fcVersions.length)} ${layer.fcVersions.join(', ')}`}.</p>`;
  return `<section class="layer${layer.drift > 0 ? ' has-drift' : ''}">
<h2>${name}${layer.drift > 0 ? ` <span class="badge status-drift">${layer.drift} drift</span>` : ''}</h2>
${held}
${renderUsedBy(layer.layerName, consumers)}
<table class="timeline">
<colgroup><col class="c-when"><col class="c-version"><col class="c-status"><col class="c-who"><col></colgroup>
<thead><tr><th scope="col">when</th><th scope="col" class="version">version</th><th scope="col">status</th><th scope="col">who</th><th scope="col">detail</th></tr></thead>
<tbody>
${layer.rows.map(renderRow).join('\n')}
</tbody>
</table>
${renderContents(contents)}
</section>`;
}

/** One layer's documents, oldest version first. */
function contentsOf(all: readonly VersionContents[] | undefined, layerName: string | undefined): VersionContents[] {
  return (all ?? []).filter((document) => document.layerName === layerName).sort((a, b) => a.version - b.version);
}

/** Per version: its file count, size and packages, and what changed since the version before it that has contents. */
function renderContents(contents: readonly VersionContents[]): string {
  if (contents.length === 0) return '';
  const rows = contents.map((document, index) => {
    const before = index === 0 ? undefined : contents[index - 1];
    let changes: string;
    if (before === undefined) {
      changes = '<span class="none">the first version with recorded contents</span>';
    } else {
      const lines = changeLines(diffContents(before, document));
      const since = `<span class="since">since version ${before.version}:</span> `;
      changes =
        lines.length === 0
          ? `${since}<span class="none">the same packages</span>`
          : `${since}<ul class="changes">${lines.map((line) => `<li class="change-${CHANGE_CLASS[line[0] ?? '~'] ?? 'changed'}">${escapeHtml(line)}</li>`).join('')}</ul>`;
    }
    return `<tr class="contents-row" data-version="${document.version}">
<td class="version">${document.version}</td>
<td class="files">${document.files === undefined ? '-' : document.files.toLocaleString('en')}</td>
<td class="size">${document.unpackedBytes === undefined ? '-' : `${(document.unpackedBytes / 2 ** 20).toFixed(1)} MiB`}</td>
<td class="packages">${document.packages.length}</td>
<td class="changes">${changes}</td>
</tr>`;
  });
  return `<table class="contents">
<caption>Inside each version</caption>
<colgroup><col class="c-version"><col class="c-files"><col class="c-size"><col class="c-packages"><col></colgroup>
<thead><tr><th scope="col" class="version">version</th><th scope="col">files</th><th scope="col">unpacked</th><th scope="col">packages</th><th scope="col">what changed</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

const CHANGE_CLASS: Record<string, string> = { '+': 'added', '-': 'removed', '~': 'changed' };

/** "Used by", per version, newest first: functions, function versions and aliases (docs/rollout.md). */
function renderUsedBy(layerName: string | undefined, consumers: ReportInput['consumers']): string {
  if (consumers === undefined || layerName === undefined) return '';
  if ('error' in consumers) return `<p class="used-by">Used by: not read (${escapeHtml(consumers.error)}).</p>`;
  const byVersion = new Map<number, string[]>();
  for (const consumer of consumers) {
    if (consumer.layerName === layerName) byVersion.set(consumer.version, [...(byVersion.get(consumer.version) ?? []), consumerLabel(consumer)]);
  }
  if (byVersion.size === 0) return '<p class="used-by">Used by no function.</p>';
  const items = [...byVersion].sort(([a], [b]) => b - a).map(([version, names]) => `<li>version ${version}: ${names.map(escapeHtml).join(', ')}</li>`);
  return `<div class="used-by">Used by:<ul>${items.join('')}</ul></div>`;
}

function renderRow(row: TimelineRow): string {
  const who =
    row.who === undefined
      ? '<span class="none">-</span>'
      : `<span class="principal">${escapeHtml(row.who)}</span>${row.sourceIp ? ` <span class="ip">from ${escapeHtml(row.sourceIp)}</span>` : ''}${row.uploadedAt ? `<br><span class="uploaded">uploaded ${time(row.uploadedAt)}</span>` : ''}`;
  const ids = row.requestIds ? `<br><span class="ids">${escapeHtml(row.requestIds)}</span>` : '';
  return `<tr class="row status-${row.status}">
<td class="when">${row.when === undefined ? '-' : time(row.when)}</td>
<td class="version">${row.version ?? '-'}</td>
<td class="status"><span class="badge status-${row.status}">${escapeHtml(row.label)}</span></td>
<td class="who">${who}</td>
<td class="detail">${escapeHtml(row.detail) || '-'}${ids}</td>
</tr>`;
}

/** A time as people read it, with the exact value kept in the element. */
function time(value: string): string {
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) return escapeHtml(value);
  const shown = new Date(parsed)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
  return `<time datetime="${escapeHtml(value)}">${shown}</time>`;
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
:root { color-scheme: light; --line: #d0d7de; --muted: #57606a; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; padding: 24px 32px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 0 0 6px; word-break: break-all; }
.meta, .held, .used-by { color: var(--muted); margin: 2px 0; }
.used-by ul { margin: 2px 0 0; padding-left: 20px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
section.layer { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 18px 0; }
section.layer.has-drift { border-color: #cf222e; box-shadow: 0 0 0 2px #ffebe9; }
table.timeline { border-collapse: collapse; width: 100%; margin-top: 8px; table-layout: fixed; }
col.c-when { width: 13.5em; } col.c-version { width: 5em; } col.c-status { width: 16.5em; } col.c-who { width: 17em; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 4px 8px; }
td { vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #eaeef2; word-break: break-word; }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.version, th.version { text-align: center; } td.version { font-weight: 600; }
tr.row > td:first-child { border-left: 4px solid #8c959f; }
.badge { display: inline-block; max-width: 100%; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; background: #eaeef2; color: #1f2328; }
.status-published .badge, .badge.status-published { background: #dafbe1; color: #116329; }
tr.status-published > td:first-child { border-left-color: #1a7f37; }
.status-unchanged .badge, .badge.status-unchanged { background: #ddf4ff; color: #0550ae; }
tr.status-unchanged > td:first-child { border-left-color: #0969da; }
.status-failed .badge, .badge.status-failed { background: #fff1e5; color: #953800; }
tr.status-failed > td:first-child { border-left-color: #bc4c00; }
.status-deleted .badge, .badge.status-deleted { background: #eaeef2; color: #424a53; }
tr.status-deleted > td:first-child { border-left-color: #6e7781; }
.badge.status-drift { background: #cf222e; color: #fff; }
tr.status-drift { background: #ffebe9; }
tr.status-drift > td:first-child { border-left-color: #cf222e; }
.drift-count { color: #cf222e; }
.principal { font-weight: 600; word-break: break-all; }
.ip, .uploaded, .ids, .none, .unnamed { color: var(--muted); }
.ids { font-size: 12px; }
table.contents { border-collapse: collapse; width: 100%; margin-top: 14px; table-layout: fixed; }
table.contents caption { text-align: left; font-weight: 600; padding: 0 8px 4px; }
col.c-files, col.c-packages { width: 6em; } col.c-size { width: 8em; }
ul.changes { margin: 0; padding-left: 1.2em; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
li.change-added { color: #116329; } li.change-removed { color: #cf222e; } li.change-changed { color: #953800; }
.since { color: var(--muted); }
@media print { body { padding: 0; } section.layer { break-inside: avoid; } }
`;
