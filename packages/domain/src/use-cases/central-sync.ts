import type { SyncRecord } from '../record';
import { recordKey } from '../record';
import { printable } from '../record-limits';
import { decideReceipt, type RoutingContext } from '../rules/routing-rules';
import type { SiteId } from '../site';
import { describeSite } from '../site';
import { pushContext, pushRefusal } from './push-checks';
import type { Topology } from '../topology';
import type { Change } from '../ports/change-feed';
import { pushConflict, type PullResult, type PushBatch, type PushOutcome, type PushResult, type RefusedRecord, type SiteInfo } from '../ports/services';
import type { SyncStorage } from '../ports/unit-of-work';

/** The issue-log key prefix of the records the central refused from a site. */
export function quarantinePrefix(siteId: SiteId): string {
  return `quarantine:${siteId}:`;
}

/** The issue-log key under which the central keeps a record it refused from a site. */
export function quarantineKey(siteId: SiteId, record: Pick<SyncRecord, 'type' | 'id'>): string {
  return `${quarantinePrefix(siteId)}${printable(recordKey(record), 400)}`;
}

/** Refused records the central keeps per site: beyond, the least recently seen are dropped and counted under `quarantine-dropped:<site>`. */
export const MAX_QUARANTINED_PER_SITE = 1_000;

/**
 * The central receives a batch from a site (inside one unit of work). Every record is checked
 * for its content and against the ownership rules for that site: a refused record is kept in
 * quarantine (the issue log, with its reason) and reported back, and the rest of the batch is
 * stored and routed. The batch id belongs to the site: a batch received before (same id, same
 * records) writes nothing again and gets exactly the first answer; the same id with other records
 * is a conflict, and nothing is written.
 */
export async function acceptPush(storage: SyncStorage, topology: Topology, siteId: SiteId, batch: PushBatch, now: Date): Promise<PushOutcome> {
  const receipt = await storage.pushes.claim(siteId, batch.id, batch.digest, now);
  if (receipt) {
    if (receipt.digest !== batch.digest) {
      return pushConflict(
        batch.id,
        `Batch "${batch.id}" of ${describeSite(topology.site(siteId)!)} was received before with other records; this one was not applied.`,
      );
    }
    if (receipt.answer === null) throw new Error(`push batch "${batch.id}" of site ${siteId} was claimed but never answered`);
    return { ...receipt.answer, replayed: true };
  }
  const accepted: SyncRecord[] = [];
  const refused: RefusedRecord[] = [];
  // Only whether this site has refusals kept is read, never the whole issue log.
  const anyQuarantined = (await storage.issues.open({ prefix: quarantinePrefix(siteId), limit: 1 })).length > 0;
  const context = await pushContext(storage, topology, batch.records);
  for (const record of batch.records) {
    const refusal = pushRefusal(topology, siteId, record, context);
    if (refusal) {
      refused.push({ recordType: record.type, recordId: record.id, code: refusal.code, message: refusal.message, fix: refusal.fix });
      await storage.issues.report(quarantineKey(siteId, record), refusal, now);
    } else {
      accepted.push(record);
    }
  }
  // a record refused before and accepted now: its issue is over
  if (anyQuarantined && accepted.length > 0) await storage.issues.resolveMany(accepted.map((r) => quarantineKey(siteId, r)));
  if (refused.length > 0) await keepQuarantineBounded(storage, topology, siteId, now);
  if (accepted.length > 0) await storage.records.upsert(accepted, { sourceSiteId: siteId, viaSync: true });
  const answer: PushResult = { batchId: batch.id, accepted: accepted.length, refused };
  await storage.pushes.settle(siteId, batch.id, answer);
  return answer;
}

/** Keeps at most MAX_QUARANTINED_PER_SITE refusals of a site; what is dropped is counted in one issue, so it is never silent. */
async function keepQuarantineBounded(storage: SyncStorage, topology: Topology, siteId: SiteId, now: Date): Promise<void> {
  const dropped = await storage.issues.trim(quarantinePrefix(siteId), MAX_QUARANTINED_PER_SITE);
  if (dropped === 0) return;
  const site = describeSite(topology.site(siteId)!);
  await storage.issues.report(
    `quarantine-dropped:${siteId}`,
    {
      code: 'push.quarantine-full',
      rule: `the central keeps the ${MAX_QUARANTINED_PER_SITE} most recent refusals of each site`,
      message: `${site} sent more refused records than the central keeps: the least recent were dropped from the list (this issue counts them in its occurrences). The records themselves were never stored.`,
      fix: `Look at the refusals of ${site} (its status, or the central's issues) and fix the site: it keeps sending records it may not send.`,
    },
    now,
    dropped,
  );
}

/** Whether a change goes to `siteId`: routed there by the rules, and not the site's own change coming back. */
export function changeGoesTo(topology: Topology, siteId: SiteId, change: Change, context: RoutingContext = {}): boolean {
  if (change.sourceSiteId === siteId) return false;
  const decision = decideReceipt(topology, siteId, change.record, context);
  return decision.ok && decision.value.receives;
}

/** Changes counted per query when counting what waits for a site (routing columns only). */
const COUNT_PAGE = 20_000;

/**
 * Serves pulls: the records of the central's feed after the site's cursor that go to the site. The
 * cursor returned is the last change examined, so a change filtered out is never examined again
 * for that site and none is skipped. `remaining` is exact when counted; between consecutive pulls of
 * one site it is carried forward (minus what was sent, plus what arrived since) instead of counting
 * the whole feed again.
 */
export class PullServer {
  private readonly carried = new Map<SiteId, { readonly after: bigint; readonly head: bigint; readonly remaining: number }>();

  constructor(
    private readonly context: RoutingContext = {},
    private readonly pageSize = 2_000,
  ) {}

  async pull(storage: SyncStorage, topology: Topology, siteId: SiteId, cursor: bigint, limit: number): Promise<PullResult> {
    const records: SyncRecord[] = [];
    let nextCursor = cursor;
    let after = cursor;
    let full = false;
    while (!full) {
      const page = await storage.changes.read(after, this.pageSize);
      for (const change of page) {
        nextCursor = change.cursor;
        if (changeGoesTo(topology, siteId, change, this.context)) records.push(change.record);
        if (records.length >= limit) {
          full = true;
          break;
        }
      }
      if (page.length < this.pageSize) break;
      after = page[page.length - 1]!.cursor;
    }
    const head = await storage.changes.head();
    // Not full: the feed was examined to its end, so only what arrived meanwhile can remain.
    const remaining = full
      ? await this.remainingAfter(storage, topology, siteId, cursor, nextCursor, records.length, head)
      : await this.count(storage, topology, siteId, nextCursor, head);
    this.carried.set(siteId, { after: nextCursor, head, remaining });
    return { records, nextCursor, remaining };
  }

  private async remainingAfter(
    storage: SyncStorage,
    topology: Topology,
    siteId: SiteId,
    cursor: bigint,
    nextCursor: bigint,
    sent: number,
    head: bigint,
  ): Promise<number> {
    const previous = this.carried.get(siteId);
    if (previous && previous.after === cursor) {
      // what waited after `cursor`, plus what arrived since, minus what was just sent
      return Math.max(0, previous.remaining + (await this.count(storage, topology, siteId, previous.head, head)) - sent);
    }
    return this.count(storage, topology, siteId, nextCursor, head);
  }

  /** How many changes in (after, upTo] go to the site. */
  private count(storage: SyncStorage, topology: Topology, siteId: SiteId, after: bigint, upTo: bigint): Promise<number> {
    return countWaiting(storage, topology, siteId, after, this.context, upTo);
  }
}

/**
 * How many changes after `after` (up to `upTo`, or to the end of the feed) go to `siteId`: what its
 * next pulls will bring. Reads the routing columns only (`scan`), a large page at a time.
 */
export async function countWaiting(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  after: bigint,
  context: RoutingContext = {},
  upTo?: bigint,
): Promise<number> {
  let n = 0;
  let from = after;
  while (upTo === undefined || from < upTo) {
    const page = await storage.changes.scan(from, COUNT_PAGE);
    for (const change of page) if ((upTo === undefined || change.cursor <= upTo) && changeGoesTo(topology, siteId, change, context)) n++;
    if (page.length < COUNT_PAGE) break;
    from = page[page.length - 1]!.cursor;
  }
  return n;
}

/** What a remote site learns from the central about itself, and the topology without secrets. */
export function siteInfoFor(topology: Topology, siteId: SiteId): SiteInfo {
  return {
    siteId,
    stores: topology.stores.map((s) => ({ storeId: s.id, syncType: topology.syncTypeOn(s.id, siteId) })).filter((s) => s.syncType !== 'none'),
    omsCentralUrl: topology.omsCentral?.omsCentralUrl ?? null,
    topology: {
      sites: topology.sites.map((s) => ({ ...s, hardwareId: null, failedLoginCount: 0, blocked: false })),
      stores: topology.stores,
    },
  };
}
