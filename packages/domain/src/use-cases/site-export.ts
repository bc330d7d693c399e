import type { SyncRecord } from '../record';
import type { RuleViolation } from '../result';
import { planInitialisation } from '../rules/initialisation';
import { hasRole, type SiteId } from '../site';
import type { Topology, TopologyInput } from '../topology';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import { siteInfoFor } from './central-sync';
import type { TopologySource } from './pull-server';
import { patientsOf, siteHolds, visibilityContext } from './scope-changes';

/** The `format` of a site export's first line. */
export const SITE_EXPORT_FORMAT = 'sitesync-site-export';
/** The version of the site export format this code writes and reads. */
export const SITE_EXPORT_VERSION = 1;
/** Records looked at per unit of work while exporting (without their data; those the site holds are then read with it). */
export const SITE_EXPORT_PAGE = 2_000;

/**
 * What a site export says about itself (its first line): the site, the topology the records were
 * chosen by (without credentials, hardware ids or login counters), and where the site stands on the
 * central once it holds them: the feed cursor and the resync-queue entry the export is as current as.
 */
export interface SiteExportHeader {
  readonly format: typeof SITE_EXPORT_FORMAT;
  readonly version: typeof SITE_EXPORT_VERSION;
  readonly siteId: SiteId;
  readonly siteName: string;
  readonly exportedAt: string;
  /** the central's change-feed head before any record was read, as a decimal string (64-bit) */
  readonly feedCursor: string;
  /** the last entry of the site's resync queue before any record was read, as a decimal string */
  readonly queueCursor: string;
  readonly topology: TopologyInput;
  /** data the site should hold but the central does not (`planInitialisation`): not in the export either */
  readonly warnings: readonly RuleViolation[];
}

export interface SiteExport {
  readonly header: SiteExportHeader;
  /** Every record the site holds (its own included: the central is its backup), a page at a time, in (type, id) order. */
  readonly pages: AsyncGenerator<readonly SyncRecord[]>;
}

/** Queue entries read per query while finding the end of a site's resync queue. */
const QUEUE_PAGE = 10_000;

/**
 * A site export, for initialising a new data file of `siteId` from a file instead of a full pull
 * (seed 002: "create the data file using Sync site export and Sync site import"). Consistent without
 * holding one transaction open for the whole export: the queue position, then the feed head, are
 * read first (one unit of work); each page of records is read afterwards in a unit of work of its
 * own, so every record is in the export at least as current as at the head. Whatever changes after
 * the head reaches the site through the feed, and whatever is queued after the queue position
 * through its queue, once it syncs from the header's cursors; a record sent twice is harmless.
 */
export async function exportSite(
  unitOfWork: UnitOfWork,
  topologyOf: TopologySource,
  siteId: SiteId,
  now: Date,
  pageSize = SITE_EXPORT_PAGE,
): Promise<SiteExport> {
  const { header, topology } = await unitOfWork.run(async (s) => {
    // The queue first, then the feed, then the topology: an entry or change after these positions
    // is served after the import, and the topology is at least as current as the entries counted.
    const queueCursor = await queueEnd(s, siteId);
    const feedCursor = await s.changes.head();
    const topology = await topologyOf(s);
    const site = topology.site(siteId);
    if (!site) throw new Error(`exportSite: there is no site ${siteId}`);
    if (hasRole(site, 'central')) throw new Error(`exportSite: site ${siteId} is the central, which does not sync with itself`);
    const header: SiteExportHeader = {
      format: SITE_EXPORT_FORMAT,
      version: SITE_EXPORT_VERSION,
      siteId,
      siteName: site.name,
      exportedAt: now.toISOString(),
      feedCursor: feedCursor.toString(),
      queueCursor: queueCursor.toString(),
      topology: siteInfoFor(topology, siteId).topology!,
      warnings: planInitialisation(topology, siteId).warnings,
    };
    return { header, topology };
  });
  return { header, pages: heldPages(unitOfWork, topology, siteId, pageSize) };
}

/** The last entry of the site's resync queue (0n when it is empty). */
async function queueEnd(s: SyncStorage, siteId: SiteId): Promise<bigint> {
  let last = 0n;
  for (;;) {
    const entries = await s.resync.read(siteId, last, QUEUE_PAGE);
    if (entries.length > 0) last = entries[entries.length - 1]!.seq;
    if (entries.length < QUEUE_PAGE) return last;
  }
}

/** The records `siteId` holds under `topology`, with their data, a page at a time (one unit of work per page). */
async function* heldPages(unitOfWork: UnitOfWork, topology: Topology, siteId: SiteId, pageSize: number): AsyncGenerator<readonly SyncRecord[]> {
  let after: Pick<SyncRecord, 'type' | 'id'> | undefined;
  for (let more = true; more;) {
    const held = await unitOfWork.run(async (s) => {
      const page = await s.records.select({}, after ? { after, limit: pageSize } : { limit: pageSize });
      more = page.length === pageSize;
      if (page.length > 0) after = { type: page[page.length - 1]!.type, id: page[page.length - 1]!.id };
      const context = await visibilityContext(s, patientsOf(page));
      const keys = page.filter((r) => siteHolds(topology, siteId, r, context));
      if (keys.length === 0) return [];
      // judged again with their data, as a pull judges them
      const records = (await s.records.getMany(keys)).filter((r) => siteHolds(topology, siteId, r, context));
      return records.sort((a, b) => (a.type === b.type ? compare(a.id, b.id) : compare(a.type, b.type)));
    });
    if (held.length > 0) yield held;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
