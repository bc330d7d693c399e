import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { AdminClient } from '@sitesync/http';
import { count, keyValue, time } from './cli-table';
import { startProgress, type ProgressOptions } from './cli-progress';

/** What `site export` prints (its JSON with `--json`). */
export interface SiteExportSummary {
  readonly siteId: number;
  readonly siteName: string;
  readonly file: string;
  readonly records: number;
  readonly feedCursor: string;
  readonly exportedAt: string;
}

const megabytes = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

/**
 * Writes a site's export to `out`: first to `out.partial` (mode 600), renamed to `out` once the whole
 * export arrived and was checked, so a file named `out` is always complete. Progress (records
 * written; the total is known only from the export's last line) goes to stderr.
 */
export async function exportSite(admin: AdminClient, siteId: number, out: string, options: ProgressOptions): Promise<SiteExportSummary> {
  const partial = `${out}.partial`;
  rmSync(partial, { force: true }); // made anew, with mode 600
  const file = createWriteStream(partial, { mode: 0o600 });
  const sink: Writable = out.endsWith('.gz') ? createGzip() : file;
  if (sink !== file) sink.pipe(file);
  const progress = startProgress(options);
  let lines = 0;
  let bytes = 0;
  try {
    const { header, records } = await admin.exportSite(siteId, async (line) => {
      lines++;
      bytes += Buffer.byteLength(line) + 1;
      if (!sink.write(`${line}\n`)) await once(sink, 'drain');
      // the first line is the header; the last (count and checksum) is not a record
      progress.update(`site export: ${count(Math.max(0, lines - 1), 'record')} written (${megabytes(bytes)} received)`);
    });
    sink.end();
    await finished(file);
    renameSync(partial, out);
    progress.done(`site export: ${count(records, 'record')} written and checked (count and checksum), ${megabytes(bytes)}`);
    for (const w of header.warnings) {
      process.stderr.write(
        `warning: ${w.message}\n  fix: the export does not hold it either. Before exporting, give the store a collector copy on the central (store copy --store ID --site 1 --type collector) and let the site sync from its old device; or keep using its old data file.\n`,
      );
    }
    return { siteId: header.siteId, siteName: header.siteName, file: out, records, feedCursor: header.feedCursor, exportedAt: header.exportedAt };
  } catch (error) {
    progress.done(`site export: failed after ${count(lines, 'line')} received`);
    sink.destroy();
    file.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
}

export function exportText(summary: SiteExportSummary): string {
  return `${keyValue([
    ['site', `${summary.siteId} ${summary.siteName}`],
    ['file', summary.file],
    ['records', String(summary.records)],
    ['feed cursor', summary.feedCursor],
    ['exported at', time(summary.exportedAt)],
  ])}\n`;
}
