import type { SyncRecord } from '../record';
import type { RoutingContext } from '../rules/routing-rules';
import { MAX_REQUEST_SIZE, type SiteId } from '../site';
import type { Topology } from '../topology';
import type { Change, EncodedChange, RoutingCount } from '../ports/change-feed';
import type { RecordKeyOf } from '../ports/resync-queue';
import { patientsOf, siteHolds, siteOwns, visibilityContext } from './scope-changes';
import { SiteRouting } from './site-routing';
import type { PullRequest, PullResult } from '../ports/services';
import type { SyncStorage } from '../ports/unit-of-work';

/**
 * Whether a change goes to `siteId`: routed there by the rules, and not the site's own change coming
 * back (unless `includeOwn`: a re-initialising site gets its own records back from the central).
 */
export function changeGoesTo(topology: Topology, siteId: SiteId, change: Change, context: RoutingContext = {}, includeOwn = false): boolean {
  if (change.sourceSiteId === siteId && !includeOwn) return false;
  return siteHolds(topology, siteId, change.record, context);
}

/** A record to send: without its data (`data` is `{}`), and the data as a JSON object's text. */
export interface EncodedRecord {
  readonly record: SyncRecord;
  readonly dataJson: string;
}

/** A `PullResult` whose records carry their data as JSON text (`EncodedRecord`). */
export interface EncodedPullResult extends Omit<PullResult, 'records'> {
  readonly records: readonly EncodedRecord[];
}

export function encodeRecord(record: SyncRecord): EncodedRecord {
  return { record: { ...record, data: {} }, dataJson: JSON.stringify(record.data) };
}

export function decodeRecord({ record, dataJson }: EncodedRecord): SyncRecord {
  return { ...record, data: JSON.parse(dataJson) as SyncRecord['data'] };
}

/**
 * A page of at least MIN_SPARSE_PAGE changes of which at most SPARSE_MAX go to the site makes its
 * next pages be scanned without data first, and only its records read with their data (one read
 * each); a scanned page with more sends the site back to reading pages with their data. A hint kept
 * per site in the process: the answer is the same either way.
 */
const SPARSE_MAX = 16;
const MIN_SPARSE_PAGE = 200;

/** Changes read from the feed at least per read (unless `pageSize` is smaller), whatever the answer still needs. */
const MIN_FEED_READ = 2_000;

/**
 * The topology as current as what `storage` reads now: a process that keeps the topology in memory
 * checks its version there (`TopologyRepository.version`) and reloads it when another unit of work
 * changed it. The pull asks for it after reading, so a record or queue entry written with a topology
 * change is never judged by the topology before it.
 */
export type TopologySource = (storage: SyncStorage) => Promise<Topology>;

/**
 * Serves pulls. First the site's resync queue (records whose routing to it changed with its scope):
 * each decided again now, sent if the site must hold it, listed in `drops` if it must not and does
 * not own it. Then the records of the central's feed after the site's cursor that go to the site.
 * The feed cursor returned is the last change examined, so a change filtered out is never examined
 * again for that site and none is skipped. `remaining` is exact when counted; between consecutive
 * pulls of one site it is carried forward (minus what was sent, plus what arrived since) instead of
 * counting the whole feed again.
 */
export class PullServer {
  /** per site: what its last pull counted, under which topology and whether its own changes counted (reused only under the same) */
  private readonly carried = new Map<
    SiteId,
    { readonly after: bigint; readonly head: bigint; readonly remaining: number; readonly topology: Topology; readonly includeOwn: boolean }
  >();

  /** `pageSize`: the most changes one read of the feed returns */
  /** sites whose last pages had few changes for them (see SPARSE_MAX) */
  private readonly sparse = new Set<SiteId>();

  constructor(private readonly pageSize = MAX_REQUEST_SIZE) {}

  async pull(storage: SyncStorage, topologyOf: TopologySource, siteId: SiteId, request: PullRequest): Promise<PullResult> {
    const answer = await this.pullEncoded(storage, topologyOf, siteId, request);
    return { ...answer, records: answer.records.map(decodeRecord) };
  }

  /** `pull`, with the records' data as JSON text, as the storage keeps it: what the HTTP API sends on without parsing it. */
  async pullEncoded(storage: SyncStorage, topologyOf: TopologySource, siteId: SiteId, request: PullRequest): Promise<EncodedPullResult> {
    // where the site stands: what the admin's "waiting" counts from, and what a store move checks
    const moved = await keepPullState(storage, siteId, request);
    try {
      return await this.serve(storage, topologyOf, siteId, request);
    } finally {
      // noted again as the pull ends, just before its unit of work commits (see pullCursorWrites)
      if (moved) pullStatesWritten.set(siteId, { write: ++pullStateWrites, cursor: request.cursor });
    }
  }

  private async serve(storage: SyncStorage, topologyOf: TopologySource, siteId: SiteId, request: PullRequest): Promise<EncodedPullResult> {
    const { cursor, limit, queueCursor } = request;
    if (queueCursor !== undefined) {
      await storage.resync.acknowledge(siteId, queueCursor);
      const entries = limit > 0 ? await storage.resync.read(siteId, queueCursor, limit) : [];
      if (entries.length > 0) {
        const stored = await storage.records.getMany(entries);
        const topology = await topologyOf(storage);
        const context = await visibilityContext(storage, patientsOf(stored));
        const records: EncodedRecord[] = [];
        const drops: RecordKeyOf[] = [];
        for (const record of stored) {
          if (siteHolds(topology, siteId, record, context)) records.push(encodeRecord(record));
          else if (!siteOwns(topology, siteId, record)) drops.push({ type: record.type, id: record.id });
        }
        const nextQueueCursor = entries[entries.length - 1]!.seq;
        const remaining = (await storage.resync.count(siteId, nextQueueCursor)) + (await this.feedRemaining(storage, topology, siteId, cursor));
        return { records, drops, nextCursor: cursor, nextQueueCursor, remaining };
      }
    }
    const includeOwn = request.reinitialising === true;
    let routing: SiteRouting | null = null;
    const changes: EncodedChange[] = [];
    let nextCursor = cursor;
    let after = cursor;
    let topology: Topology | null = null;
    let full = false;
    while (!full) {
      // as much as the answer still needs (one read for a page of central data), at least MIN_FEED_READ
      const want = Math.min(this.pageSize, Math.max(limit - changes.length, MIN_FEED_READ));
      // a site most of whose changes go elsewhere has its pages scanned without data, and only its own read with their data
      const sparse = this.sparse.has(siteId);
      const page: readonly Change[] = sparse ? await storage.changes.scan(after, want) : await storage.changes.readEncoded(after, want);
      // after each read: a record written after a topology change is judged by that change or a later one
      if (page.length > 0) {
        const current = await topologyOf(storage);
        if (current !== topology || routing === null) routing = new SiteRouting(current, siteId, includeOwn);
        topology = current;
      }
      const context = await visibilityContext(storage, patientsOf(page.map((c) => c.record)));
      const matched: Change[] = [];
      let last = nextCursor;
      let filled = false;
      for (const change of page) {
        last = change.cursor;
        if (!routing!.goes(change, context)) continue;
        matched.push(change);
        if (changes.length + matched.length >= limit) {
          filled = true;
          break;
        }
      }
      if (sparse && matched.length > SPARSE_MAX) {
        this.sparse.delete(siteId); // many go to it after all: this page is read again, with its data
        continue;
      }
      if (sparse) {
        // each by its cursor: the same cursor is the same version of the record (a rewrite takes a new
        // one, and is judged where it is now in the feed)
        for (const m of matched) {
          const [encoded] = await storage.changes.readEncoded(m.cursor - 1n, 1);
          if (encoded && encoded.cursor === m.cursor) changes.push(encoded);
        }
      } else {
        changes.push(...(matched as EncodedChange[]));
        if (page.length >= MIN_SPARSE_PAGE && matched.length <= SPARSE_MAX) this.sparse.add(siteId);
      }
      nextCursor = last;
      full = filled;
      if (full || page.length < want) break;
      after = page[page.length - 1]!.cursor;
    }
    topology ??= await topologyOf(storage);
    const head = await storage.changes.head();
    // Not full: the feed was examined to its end, so only what arrived meanwhile can remain.
    const remaining = full
      ? await this.remainingAfter(storage, topology, siteId, cursor, nextCursor, changes.length, head, includeOwn)
      : await this.count(storage, topology, siteId, nextCursor, head, includeOwn);
    this.carried.set(siteId, { after: nextCursor, head, remaining, topology, includeOwn });
    const records = changes.map(({ record, dataJson }) => ({ record, dataJson }));
    return queueCursor === undefined ? { records, nextCursor, remaining } : { records, drops: [], nextCursor, nextQueueCursor: queueCursor, remaining };
  }

  /** What waits in the feed after `cursor` (carried from the last pull when it ended there, and carried on). */
  private async feedRemaining(storage: SyncStorage, topology: Topology, siteId: SiteId, cursor: bigint): Promise<number> {
    const previous = this.carriedFor(siteId, cursor, topology, false);
    const head = await storage.changes.head();
    const remaining = previous
      ? previous.remaining + (await this.count(storage, topology, siteId, previous.head, head))
      : await this.count(storage, topology, siteId, cursor, head);
    this.carried.set(siteId, { after: cursor, head, remaining, topology, includeOwn: false });
    return remaining;
  }

  private async remainingAfter(
    storage: SyncStorage,
    topology: Topology,
    siteId: SiteId,
    cursor: bigint,
    nextCursor: bigint,
    sent: number,
    head: bigint,
    includeOwn: boolean,
  ): Promise<number> {
    const previous = this.carriedFor(siteId, cursor, topology, includeOwn);
    if (previous) {
      // what waited after `cursor`, plus what arrived since, minus what was just sent
      return Math.max(0, previous.remaining + (await this.count(storage, topology, siteId, previous.head, head, includeOwn)) - sent);
    }
    return this.count(storage, topology, siteId, nextCursor, head, includeOwn);
  }

  /**
   * The count carried from the site's last pull when it ended at `cursor` under this very topology
   * (a change of the topology, made by any process, may route what waits differently: counted again).
   */
  private carriedFor(siteId: SiteId, cursor: bigint, topology: Topology, includeOwn: boolean) {
    const previous = this.carried.get(siteId);
    return previous && previous.after === cursor && previous.topology === topology && previous.includeOwn === includeOwn ? previous : null;
  }

  /** How many changes in (after, upTo] go to the site. */
  private count(storage: SyncStorage, topology: Topology, siteId: SiteId, after: bigint, upTo: bigint, includeOwn = false): Promise<number> {
    return countWaiting(storage, topology, siteId, after, upTo, includeOwn);
  }
}

/**
 * How many changes after `after` (up to `upTo`, or to the end of the feed) go to `siteId`: what its
 * next pulls will bring. Counted by routing (`countByRouting`): each distinct type, routing columns
 * and source is decided once by the rules, and its changes counted at once, without reading them.
 */
export async function countWaiting(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  after: bigint,
  upTo?: bigint,
  includeOwn = false,
): Promise<number> {
  const groups = await storage.changes.countByRouting(after, upTo ?? (await storage.changes.head()));
  if (groups.length === 0) return 0;
  const context = await visibilityContext(
    storage,
    groups.flatMap((g) => (g.patientId ? [g.patientId] : [])),
  );
  const routing = new SiteRouting(topology, siteId, includeOwn);
  let n = 0;
  for (const group of groups) if (routing.goes({ sourceSiteId: group.sourceSiteId, record: groupRecord(group) }, context)) n += group.count;
  return n;
}

/** A record as routing sees the changes of a group (no id, no data). */
function groupRecord(group: RoutingCount): SyncRecord {
  return {
    type: group.type,
    id: '',
    ...(group.storeId !== null ? { storeId: group.storeId } : {}),
    ...(group.otherPartyStoreId !== null ? { otherPartyStoreId: group.otherPartyStoreId } : {}),
    ...(group.patientId !== null ? { patientId: group.patientId } : {}),
    ...(group.homeStoreId !== null ? { homeStoreId: group.homeStoreId } : {}),
    data: {},
  };
}

/** What waits for a site on the central: its resync queue, and the feed after `cursor` (by default the one it last pulled from). */
export async function waitingFor(storage: SyncStorage, topology: Topology, siteId: SiteId, from?: bigint): Promise<number> {
  const cursor = from ?? (await sitePullState(storage, siteId)).cursor;
  return (await storage.resync.count(siteId, 0n)) + (await countWaiting(storage, topology, siteId, cursor));
}

/** Where a site stood at its last pull: the feed cursor it pulled from, and how many of its own changes it had not pushed. */
export interface SitePullState {
  readonly cursor: bigint;
  readonly unpushed: number;
}

/** The settings key under which the central keeps a site's `SitePullState` (one entry, written by pulls only). */
export function sitePullKey(siteId: SiteId): string {
  return `site-pull:${siteId}`;
}

/** The site's state at its last pull (cursor 0n and nothing unpushed if it never pulled). */
export async function sitePullState(storage: SyncStorage, siteId: SiteId): Promise<SitePullState> {
  const kept = (await storage.settings.get(sitePullKey(siteId))) as { cursor?: unknown; unpushed?: unknown } | null;
  const cursor = typeof kept?.cursor === 'string' && /^\d+$/.test(kept.cursor) ? BigInt(kept.cursor) : 0n;
  return { cursor, unpushed: typeof kept?.unpushed === 'number' ? kept.unpushed : 0 };
}

/** Keeps the site's state at this pull, writing only when it changed (one read, at most one write per pull); whether its cursor moved. */
async function keepPullState(storage: SyncStorage, siteId: SiteId, request: PullRequest): Promise<boolean> {
  const kept = await sitePullState(storage, siteId);
  const unpushed = request.unpushed ?? kept.unpushed;
  if (kept.cursor !== request.cursor || kept.unpushed !== unpushed) {
    await storage.settings.set(sitePullKey(siteId), { cursor: request.cursor.toString(), unpushed });
  }
  if (kept.cursor === request.cursor) return false;
  pullStatesWritten.set(siteId, { write: ++pullStateWrites, cursor: request.cursor });
  return true;
}

const pullStatesWritten = new Map<SiteId, PullCursorWrite>();
let pullStateWrites = 0;

/** A pull cursor written: the number of the write in a process-wide count (the greater, the later), and the cursor. */
export interface PullCursorWrite {
  readonly write: number;
  readonly cursor: bigint;
}

/**
 * The sites whose pull cursor a pull in this process wrote, each with its latest write. A hint for
 * readers that keep pull cursors in memory (`WaitingCounts`): which sites to read again, and what
 * they will read once the pull's unit of work committed; it is noted when the cursor is written and
 * again as the pull ends, both before the commit (and the pull may yet fail), so the stored cursor
 * stays the truth. Pulls served by another process do not appear.
 */
export function pullCursorWrites(): ReadonlyMap<SiteId, PullCursorWrite> {
  return pullStatesWritten;
}
