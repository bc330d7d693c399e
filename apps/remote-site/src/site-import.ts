import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  applyPulled,
  buildTopology,
  CENTRAL_PULL_CURSOR,
  CENTRAL_TOPOLOGY_VERSION_SETTING,
  CENTRAL_QUEUE_CURSOR,
  INITIAL_PULL_DONE_SETTING,
  SITE_EXPORT_FORMAT,
  SITE_EXPORT_VERSION,
  siteInfoForRemote,
  type SyncRecord,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import { siteExportHeaderSchema, siteExportTrailerSchema, syncRecordSchema, type SiteExportHeaderJson } from '@sitesync/http';

/** Records imported per unit of work. */
export const IMPORT_BATCH = 2_000;

/** A site export file that cannot be imported: the message names the file, the line, what is wrong and what to do. */
export class SiteExportFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    problem: string,
    fix = 'Export the site again on the central (`sitesync-central site export --site ID --out FILE`) and import that file.',
  ) {
    super(`${file}${line !== null ? `, line ${line}` : ''}: ${problem} ${fix}`);
    this.name = 'SiteExportFileError';
  }
}

/** A site export file, checked from its first line to its last. */
export interface CheckedSiteExport {
  readonly file: string;
  readonly header: SiteExportHeaderJson;
  /** the topology the records were chosen by */
  readonly topology: Topology;
  readonly records: number;
}

/** The lines of a file (gunzipped when it is gzip), numbered from 1, one at a time. */
async function* linesOf(file: string): AsyncGenerator<{ readonly number: number; readonly text: string }> {
  let magic: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      magic = Buffer.alloc(2);
      await handle.read(magic, 0, 2, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new SiteExportFileError(file, null, `cannot be read (${(error as Error).message}).`, 'Check the path given to --from-file.');
  }
  const raw = createReadStream(file);
  const input: Readable = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => input.destroy(error));
  const reader = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of reader) yield { number: ++number, text };
  } catch (error) {
    throw new SiteExportFileError(file, number + 1, `cannot be read (${(error as Error).message}): the file is damaged.`);
  } finally {
    reader.close();
    input.destroy();
  }
}

function parseJson(file: string, line: number, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SiteExportFileError(file, line, `${what} is not JSON: the file is damaged or is not a site export.`);
  }
}

/** What `parsed` needs of a zod schema. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

function parsed<T>(file: string, line: number, schema: Schema<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const where = first && first.path.length > 0 ? `field "${first.path.map(String).join('.')}"` : 'it';
  throw new SiteExportFileError(file, line, `${what} is not as a site export writes it: ${where}: ${first?.message ?? 'invalid'}.`);
}

function isTrailer(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'end' in value && !('type' in value);
}

/**
 * Reads a whole export file once, holding one line at a time, and checks it: the header (format,
 * version, a valid topology holding the site), every record line, and the last line with the count
 * and checksum of the lines before it (a file cut short, or changed, is refused). Nothing is written.
 */
export async function checkSiteExportFile(file: string): Promise<CheckedSiteExport> {
  let header: SiteExportHeaderJson | null = null;
  let topology: Topology | null = null;
  let records = 0;
  let ended = false;
  const digest = createHash('sha256');
  for await (const { number, text } of linesOf(file)) {
    if (ended) throw new SiteExportFileError(file, number, 'comes after the last line of the export: the file holds something else besides.');
    const value = parseJson(file, number, text, number === 1 ? 'the first line (the header)' : 'the line');
    if (number === 1) {
      const { format, version } = (value ?? {}) as { format?: unknown; version?: unknown };
      if (format !== SITE_EXPORT_FORMAT)
        throw new SiteExportFileError(file, 1, `is not a sitesync site export (its first line has no "format": "${SITE_EXPORT_FORMAT}").`);
      if (version !== SITE_EXPORT_VERSION) {
        throw new SiteExportFileError(
          file,
          1,
          `is a site export of version ${JSON.stringify(version)}; this sitesync-remote reads version ${SITE_EXPORT_VERSION}.`,
          'Export the site with a central of the same sitesync version as this remote, or upgrade the remote.',
        );
      }
      header = parsed(file, 1, siteExportHeaderSchema, value, 'the header');
      const built = buildTopology(header.topology);
      if (!built.ok) throw new SiteExportFileError(file, 1, `holds a topology that breaks the rules: ${built.error.map((v) => v.message).join(' ')}`);
      if (!built.value.site(header.siteId)) throw new SiteExportFileError(file, 1, `is the export of site ${header.siteId}, which its topology does not hold.`);
      topology = built.value;
    } else if (isTrailer(value)) {
      const trailer = parsed(file, number, siteExportTrailerSchema, value, 'the last line');
      if (trailer.records !== records || trailer.sha256 !== digest.digest('hex')) {
        throw new SiteExportFileError(
          file,
          number,
          `says the export holds ${trailer.records} records, but the ${records} lines before it do not match its checksum: the file was changed or damaged.`,
        );
      }
      ended = true;
      continue;
    } else {
      parsed(file, number, syncRecordSchema, value, 'the record');
      records++;
    }
    digest.update(`${text}\n`, 'utf8');
  }
  if (!header || !topology) throw new SiteExportFileError(file, null, 'is empty: it is not a site export.');
  if (!ended) {
    throw new SiteExportFileError(
      file,
      null,
      `ends after ${records} records without its last line: the export was cut short (an interrupted download or copy).`,
      'Copy the file again, or export the site again.',
    );
  }
  return { file, header, topology, records };
}

/**
 * Imports a checked export into a new data file: the records in units of work of `batchSize`, each
 * stored as a pull stores them (`applyPulled`: the same rules, serial counters raised past numbers in
 * use; what the rules do not route here is kept with its error), then, last, the topology and the
 * cursors: until then the file pulls everything from the central at its next sync, like a new file.
 * The site's first pass after the import brings back its own records written since the export, unless
 * it had never synced when it was exported.
 */
export async function importSiteExport(
  unitOfWork: UnitOfWork,
  checked: CheckedSiteExport,
  now: () => Date,
  batchSize = IMPORT_BATCH,
): Promise<{ readonly imported: number; readonly keptWithErrors: number }> {
  const { file, header, topology } = checked;
  let imported = 0;
  let keptWithErrors = 0;
  let batch: SyncRecord[] = [];
  let firstLine = 2;
  const digest = createHash('sha256');
  const flush = async () => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    keptWithErrors += await unitOfWork.run((s) => applyPulled(s, topology, header.siteId, records, BigInt(firstLine), now()));
    imported += records.length;
  };
  let ended = false;
  const changed = (line: number | null) =>
    new SiteExportFileError(file, line, 'changed while it was imported: the import is not complete.', 'Import it again into a new data file.');
  for await (const { number, text } of linesOf(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw changed(number);
    }
    if (number > 1 && isTrailer(value)) {
      // checked once more: the file may have changed since it was checked
      const trailer = siteExportTrailerSchema.safeParse(value);
      if (!trailer.success || trailer.data.records !== imported + batch.length || trailer.data.sha256 !== digest.digest('hex')) throw changed(number);
      ended = true;
      break;
    }
    digest.update(`${text}\n`, 'utf8');
    if (number === 1) continue;
    if (batch.length === 0) firstLine = number;
    const record = syncRecordSchema.safeParse(value);
    if (!record.success) throw changed(number);
    batch.push(record.data as SyncRecord);
    if (batch.length >= batchSize) await flush();
  }
  if (!ended) throw changed(null);
  await flush();
  // kept as the central tells it to the site (GET /sync/v1/site), not as the admin's export holds it: no other site's name or whereabouts
  const known = buildTopology(siteInfoForRemote(topology, header.siteId).topology!);
  if (!known.ok) throw new Error(`the export's topology, reduced to what the site needs, breaks the rules: ${known.error.map((v) => v.message).join(' ')}`);
  await unitOfWork.run(async (s) => {
    await s.topology.save(known.value);
    await s.settings.set(CENTRAL_TOPOLOGY_VERSION_SETTING, null); // the next cycle asks for the whole topology
    const feedCursor = BigInt(header.feedCursor);
    const queueCursor = BigInt(header.queueCursor);
    if (feedCursor > (await s.changes.cursorOf(CENTRAL_PULL_CURSOR))) await s.changes.advance(CENTRAL_PULL_CURSOR, feedCursor);
    if (queueCursor > (await s.changes.cursorOf(CENTRAL_QUEUE_CURSOR))) await s.changes.advance(CENTRAL_QUEUE_CURSOR, queueCursor);
    // A site that had synced may have pushed more of its own since the export (from its old device):
    // its first pass after the import asks for its own records too, as a re-initialised file does.
    const syncedBefore = (topology.site(header.siteId)?.lastSyncedAt ?? null) !== null;
    if (!syncedBefore) await s.settings.set(INITIAL_PULL_DONE_SETTING, true);
  });
  return { imported, keptWithErrors };
}
