import { recordKey, type SyncRecord } from '../record';
import { routeChange } from '../rules/routing-rules';
import { isTransferHeaderType } from '../transfers/transfer-documents';
import { transferRoutingProblem } from '../transfers/transfer-rules';
import { MAX_REQUEST_SIZE, MIN_REQUEST_SIZE, type SiteId } from '../site';
import { buildTopology, type Topology } from '../topology';
import { isPushConflict, type CentralSyncGateway, type Clock, type IdGenerator, type RefusedRecord } from '../ports/services';
import type { SettingsStore } from '../ports/settings-store';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import { decideEdit } from '../rules/edit-rules';
import { changedStoreIds, pages } from './scope-changes';
import { applyDrops, applyPulled, retryPullFailures, unpushedChanges } from './apply-pulled';
import { CENTRAL_CHANNEL, omsCentralChannel, syncChannelOf, type ChannelKeys, type SyncChannel } from '../sync-channel';

/** The issue-log key prefix of a record the central refused from this site. */
export const REFUSED_PREFIX = 'refused:';
/** Where the remote keeps its cursor in the central's feed (a cursor of the central, not of this site). */
export const CENTRAL_PULL_CURSOR = CENTRAL_CHANNEL.pullCursor;
/** Where the remote stands in its resync queue on the central (records whose routing here changed). */
export const CENTRAL_QUEUE_CURSOR = CENTRAL_CHANNEL.queueCursor;
/**
 * Set once a data file has made one whole pass over the central's feed. Until then its pulls ask
 * for its own records too (`reinitialising`): a re-initialised site gets back what it wrote.
 */
export const INITIAL_PULL_DONE_SETTING = CENTRAL_CHANNEL.initialPullDoneSetting;
/**
 * The setting under which a remote keeps its data file's push namespace: a random id, made when the
 * file first pushes, that prefixes every batch id the file sends. A new device, a re-initialised
 * site or a restored backup never reuses another file's batch ids: the first two start with a new
 * namespace, and a restored (or copied) file takes a new one when the central says an id of it was
 * used for other records.
 */
export const PUSH_NAMESPACE_SETTING = CENTRAL_CHANNEL.namespaceSetting;
/** Pull requests in one cycle at most (the next cycle goes on from there): 10,000 pages hold up to 50 million records. */
export const MAX_PULL_PAGES_PER_CYCLE = 10_000;

/**
 * The setting under which a remote keeps the version of the topology the central last sent it
 * (`SiteInfo.topologyVersion`), with TOPOLOGY_FORMAT; null or absent when its topology came from
 * elsewhere (`init`, an import): the next cycle then asks for the whole topology.
 */
export const CENTRAL_TOPOLOGY_VERSION_SETTING = 'sync.central-topology-version';

/**
 * The shape of the topology a remote keeps. A version held under another format is not sent, so a
 * remote whose new build reads more of the topology gets it whole again: raise it whenever what a
 * remote keeps of sites or stores changes.
 */
export const TOPOLOGY_FORMAT = 1;

/** The version to send back: held with this build's TOPOLOGY_FORMAT. */
function heldVersion(kept: unknown): string | null {
  const held = kept as { format?: unknown; version?: unknown } | null;
  return held && held.format === TOPOLOGY_FORMAT && typeof held.version === 'string' ? held.version : null;
}
/** Aim of the request-size adjustment: a few seconds per request. */
export const TARGET_REQUEST_MS = 2_000;

export type SyncProgress =
  | { readonly phase: 'push'; readonly sent: number; readonly refused: number }
  | { readonly phase: 'pull'; readonly received: number; readonly remaining: number; readonly requestSize: number };

export interface SyncCycleReport {
  readonly pushed: number;
  /** times the central said a batch id of this file was used before for other records (a restored or copied file) */
  readonly namespaceRenewals: number;
  /** pulled records this site could not store, kept with their errors */
  readonly pullFailures: number;
  readonly refused: readonly RefusedRecord[];
  readonly pulled: number;
  /** records deleted here because the central said this site may no longer hold them */
  readonly dropped: number;
  /** the request size the next cycle should start with */
  readonly requestSize: number;
  readonly topology: Topology;
}

/** The request size after a request that took `elapsedMs`: towards TARGET_REQUEST_MS, at most x2 or /2, within 10..5000. */
export function nextRequestSize(current: number, elapsedMs: number, targetMs = TARGET_REQUEST_MS): number {
  const factor = Math.min(2, Math.max(0.5, targetMs / Math.max(1, elapsedMs)));
  return Math.min(MAX_REQUEST_SIZE, Math.max(MIN_REQUEST_SIZE, Math.round(current * factor)));
}

/**
 * Whether a remote pushes one of its own changes: only if it goes somewhere. Local and sync data go
 * nowhere, and neither does the store data of a store that has no collector copy anywhere (seed
 * store F): "this data is not synced anywhere". Everything that goes somewhere goes through the
 * central, which keeps it to route it. Open mSupply central data (once a site is flagged) always
 * goes to that server, which keeps every record of its types: also the flagged site's own, which
 * the rules route nowhere else when its store has no other copy (it must still reach whoever holds
 * the store next).
 */
export function pushable(topology: Topology, siteId: SiteId, record: SyncRecord): boolean {
  if (syncChannelOf(topology, record.type) === 'oms-central') return true;
  const routing = routeChange(topology, siteId, record);
  // An unknown or malformed record is pushed anyway: the central refuses it with the reason, and the refusal is kept here.
  if (!routing.ok) return true;
  return routing.value.destinations.length > 0;
}

/**
 * The cycle's first step: the site info, with the topology only when it changed since the version
 * this site holds (`CENTRAL_TOPOLOGY_VERSION_SETTING`). A new topology is saved, and what it changes
 * for this site's data is applied: its widened scope re-sent, pulled records kept aside applied,
 * transfer issues it resolves closed.
 */
async function learnTopology(
  unitOfWork: UnitOfWork,
  gateway: CentralSyncGateway,
  siteId: SiteId,
): Promise<{ readonly topology: Topology; readonly syncedBefore: boolean }> {
  const held = await unitOfWork.run(async (s) => {
    const version = heldVersion(await s.settings.get(CENTRAL_TOPOLOGY_VERSION_SETTING));
    const topology = version !== null ? await s.topology.load() : null;
    return topology && version !== null ? { version, topology } : null;
  });
  const info = await gateway.siteInfo(held ? { topologyVersion: held.version } : {});
  if (info.siteId !== siteId) throw new Error(`the central answered for site ${info.siteId}, but this is site ${siteId}`);
  // the central tells whether it holds something of this site's past (older centrals: its last sync in the topology)
  const syncedBefore = (topology: Topology) => info.syncedBefore ?? (topology.site(siteId)?.lastSyncedAt ?? null) !== null;
  let topology: Topology;
  if (!info.topology) {
    if (!held || info.topologyVersion !== held.version) throw new Error('the central sent no topology');
    topology = held.topology;
  } else {
    const built = buildTopology(info.topology);
    if (!built.ok) throw new Error(`the central sent a topology that breaks the rules: ${built.error.map((v) => v.message).join(' ')}`);
    topology = built.value;
  }
  const changed = info.topology !== undefined;
  await unitOfWork.run(async (s) => {
    if (changed) {
      const previous = await s.topology.load();
      await s.topology.save(topology);
      await s.settings.set(
        CENTRAL_TOPOLOGY_VERSION_SETTING,
        info.topologyVersion === undefined ? null : { format: TOPOLOGY_FORMAT, version: info.topologyVersion },
      );
      if (previous) await resendWidened(s, previous, topology, siteId);
    }
    // Pulled records kept because they did not go here: applied if the topology routes them here now.
    await retryPullFailures(s, topology, siteId);
    // Transfers reported as unroutable before: resolved once the configuration lets them through
    // (or the record is gone).
    for (const issue of await s.issues.open({ prefix: 'transfer:' })) {
      const [type, ...rest] = issue.key.slice('transfer:'.length).split(':');
      const record = type ? await s.records.get(type, rest.join(':')) : null;
      if (!record || !transferRoutingProblem(topology, record)) await s.issues.resolve(issue.key);
    }
  });
  return { topology, syncedBefore: syncedBefore(topology) };
}

/**
 * One sync cycle of a remote site (seed 002): refresh the topology from the central, push this
 * site's own changes first, then pull until nothing remains. Every pulled batch is applied and the
 * cursor advanced in one unit of work, and a pushed batch has an id made of the data file's push
 * namespace and its cursor range, so a crash at any point loses nothing and duplicates nothing: the
 * next cycle repeats at most one request, which the central recognises. A pulled record this site
 * cannot store is kept with its error (inbound buffer and issue log) and the rest is applied.
 */
export async function runSyncCycle(
  deps: { readonly unitOfWork: UnitOfWork; readonly gateway: CentralSyncGateway; readonly clock: Clock; readonly ids: IdGenerator },
  siteId: SiteId,
  options: ExchangeOptions,
): Promise<SyncCycleReport> {
  const { topology, syncedBefore } = await learnTopology(deps.unitOfWork, deps.gateway, siteId);
  return { ...(await exchange(deps, CENTRAL_CHANNEL, topology, siteId, syncedBefore, options)), topology };
}

/**
 * A remote's exchange with the Open mSupply central server (seed 000), after its cycle with the
 * central, under the topology that cycle learnt: its Open mSupply data pushed, then pulled until
 * nothing remains, with the same guarantees as with the central (`runSyncCycle`) and its own
 * cursors, batch ids and request size (`omsCentralChannel`). The first whole pass asks for this
 * site's own records too: the server may hold some this data file never had.
 */
export async function runOmsCentralExchange(
  deps: { readonly unitOfWork: UnitOfWork; readonly gateway: CentralSyncGateway; readonly clock: Clock; readonly ids: IdGenerator },
  siteId: SiteId,
  topology: Topology,
  options: ExchangeOptions,
): Promise<Omit<SyncCycleReport, 'topology'>> {
  const oms = topology.omsCentral;
  if (!oms) throw new Error('runOmsCentralExchange: no site is flagged as the Open mSupply central server');
  return exchange(deps, omsCentralChannel(oms.id), topology, siteId, true, options);
}

export interface ExchangeOptions {
  readonly requestSize: number;
  readonly onProgress?: (progress: SyncProgress) => void;
  /** pull requests in this cycle at most (default MAX_PULL_PAGES_PER_CYCLE) */
  readonly maxPullPages?: number;
}

/** Push this site's changes of the channel's types, then pull until nothing remains (see `runSyncCycle`). */
async function exchange(
  deps: { readonly unitOfWork: UnitOfWork; readonly gateway: CentralSyncGateway; readonly clock: Clock; readonly ids: IdGenerator },
  keys: ChannelKeys,
  topology: Topology,
  siteId: SiteId,
  syncedBefore: boolean,
  options: ExchangeOptions,
): Promise<Omit<SyncCycleReport, 'topology'>> {
  const { unitOfWork, gateway, clock, ids } = deps;
  let size = options.requestSize;
  let pushed = 0;
  let namespaceRenewals = 0;
  const refused: RefusedRecord[] = [];
  let namespace = await unitOfWork.run((s) => pushNamespace(s.settings, ids, false, keys.namespaceSetting));
  for (let conflictsInARow = 0; ;) {
    const { changes, cursor } = await unitOfWork.run(async (s) => {
      const cursor = await s.changes.cursorOf(keys.pushConsumer);
      return { cursor, changes: await s.changes.read(cursor, size) };
    });
    if (changes.length === 0) break;
    const last = changes[changes.length - 1]!.cursor;
    const outgoing = changes
      .filter((c) => !c.viaSync && c.sourceSiteId === siteId && syncChannelOf(topology, c.record.type) === keys.channel && pushable(topology, siteId, c.record))
      .map((c) => c.record);
    // A transfer that cannot reach its other store is reported here too, with the fix, not only on the central.
    const headers = outgoing.filter((r) => isTransferHeaderType(r.type) && r.otherPartyStoreId);
    if (headers.length > 0) {
      await unitOfWork.run(async (s) => {
        const open = new Set((await s.issues.open({ prefix: 'transfer:' })).map((i) => i.key));
        for (const record of headers) {
          const problem = transferRoutingProblem(topology, record);
          const key = `transfer:${recordKey(record)}`;
          if (problem) await s.issues.report(key, problem, clock.now());
          else if (open.has(key)) await s.issues.resolve(key);
        }
      });
    }
    const started = clock.now().getTime();
    // a full batch: more may follow, and the central may wait for the last one (or this cycle's pull) to complete transfers
    const more = changes.length >= size;
    const outcome = outgoing.length > 0 ? await gateway.push(`${namespace}:${cursor}-${last}`, outgoing, more ? { more } : {}) : null;
    if (outcome && isPushConflict(outcome)) {
      // This file's batch ids were used before with other records: it is a restored or copied file.
      // The records are sent again under a new namespace; nothing is skipped.
      if (++conflictsInARow > 2) throw new Error(`the central refuses every batch id of this site: ${outcome.conflict.message}`);
      namespaceRenewals++;
      namespace = await unitOfWork.run((s) => pushNamespace(s.settings, ids, true, keys.namespaceSetting));
      continue;
    }
    conflictsInARow = 0;
    await unitOfWork.run(async (s) => {
      if (outcome) {
        const anyRefusedBefore = (await s.issues.open({ prefix: REFUSED_PREFIX, limit: 1 })).length > 0;
        const refusedKeys = new Set(outcome.refused.map((r) => `${REFUSED_PREFIX}${r.recordType}:${r.recordId}`));
        for (const r of outcome.refused) {
          await s.issues.report(
            `${REFUSED_PREFIX}${r.recordType}:${r.recordId}`,
            { code: r.code, rule: 'the central refused this record', message: r.message, fix: r.fix ?? 'See the message.' },
            clock.now(),
          );
        }
        // a record refused before and accepted now: its issue is over
        if (anyRefusedBefore) await s.issues.resolveMany(outgoing.map((r) => `${REFUSED_PREFIX}${recordKey(r)}`).filter((key) => !refusedKeys.has(key)));
      }
      await s.changes.advance(keys.pushConsumer, last);
    });
    if (outcome) {
      pushed += outcome.accepted;
      refused.push(...outcome.refused);
      options.onProgress?.({ phase: 'push', sent: pushed, refused: refused.length });
      size = nextRequestSize(size, clock.now().getTime() - started);
    }
  }

  // Feed pulls are pipelined: the next request is on its way while this batch is applied. A batch
  // is still applied only after the one before it is committed, with its cursors, so a crash at any
  // point loses or repeats nothing (an answer not yet applied is simply asked for again).
  let pulled = 0;
  let pullFailures = 0;
  // A new data file of a site that has synced before (a re-initialised site, a replaced device)
  // asks for its own records too in its first whole pass over the feed: they may exist only on
  // the central now. A new site's first pass does not: nothing of its own is there but what it
  // just pushed.
  const start = await unitOfWork.run(async (s) => ({
    cursor: await s.changes.cursorOf(keys.pullCursor),
    queueCursor: await s.changes.cursorOf(keys.queueCursor),
    reinitialising: syncedBefore && (await s.settings.get(keys.initialPullDoneSetting)) !== true,
    unpushed: await countUnpushed(s, topology, siteId, keys.channel),
  }));
  const reinitialising = start.reinitialising;
  let pullsDropped = 0;
  const request = (cursor: bigint, queueCursor: bigint, limit: number) => {
    const started = clock.now().getTime();
    const answer = gateway
      .pull(cursor, limit, { queueCursor, unpushed: start.unpushed, ...(reinitialising ? { reinitialising } : {}) })
      .then((batch) => ({ batch, cursor, queueCursor, limit, elapsed: clock.now().getTime() - started }));
    answer.catch(() => undefined); // awaited below; not an unhandled rejection if applying fails first
    return answer;
  };
  let next = request(start.cursor, start.queueCursor, size);
  for (let pages = 1; ; pages++) {
    const { batch, cursor, queueCursor, limit, elapsed } = await next;
    const drops = batch.drops ?? [];
    if (batch.records.length + drops.length > limit) {
      throw new Error(`the central answered a pull of at most ${limit} records with ${batch.records.length + drops.length}: nothing of it was applied`);
    }
    size = nextRequestSize(size, elapsed);
    const nextQueueCursor = batch.nextQueueCursor ?? queueCursor;
    // A central whose cursors do not advance, or that never says it is done, cannot keep a site pulling.
    const advanced = batch.nextCursor > cursor || nextQueueCursor > queueCursor;
    // A batch that brought something is acknowledged by one more pull (the cursors it carries tell
    // the central what this site applied, so its "waiting" count and the resync queue are exact).
    const delivered = batch.records.length + drops.length > 0;
    const more = (batch.remaining > 0 || delivered) && advanced && pages < (options.maxPullPages ?? MAX_PULL_PAGES_PER_CYCLE);
    // The next feed page is asked for while this one is applied; but a request that acknowledges
    // queue entries (or is only an acknowledgement) waits until they are applied: the central
    // forgets acknowledged entries, and a crash in between would lose them.
    const pipelined = more && batch.remaining > 0 && nextQueueCursor === queueCursor;
    if (pipelined) {
      next = request(batch.nextCursor, nextQueueCursor, size);
      // on its way before this batch is applied (a synchronous engine holds everything else meanwhile)
      await gateway.dispatched?.();
    }
    const applied = await unitOfWork.run(async (s) => {
      const failed = await applyPulled(s, topology, siteId, batch.records, cursor, clock.now());
      const dropped = await applyDrops(s, topology, siteId, drops, clock.now());
      if (batch.nextCursor > cursor) await s.changes.advance(keys.pullCursor, batch.nextCursor);
      if (nextQueueCursor > queueCursor) await s.changes.advance(keys.queueCursor, nextQueueCursor);
      // the first whole pass is over: from now on this site's own records are not sent back
      if (!more && batch.remaining === 0 && (reinitialising || start.cursor === 0n)) await s.settings.set(keys.initialPullDoneSetting, true);
      return { failed, dropped };
    });
    pullFailures += applied.failed;
    pullsDropped += applied.dropped;
    pulled += batch.records.length;
    options.onProgress?.({ phase: 'pull', received: pulled, remaining: batch.remaining, requestSize: size });
    if (!more) break;
    if (!pipelined) next = request(batch.nextCursor, nextQueueCursor, size);
  }
  return { pushed, namespaceRenewals, refused, pulled, dropped: pullsDropped, pullFailures, requestSize: size };
}

/**
 * After a scope change, this site's own records that now go somewhere and did not before (a store
 * active here given a collector copy on the central, "include transactions in sync" turned on, the
 * other store of a transfer moved to another site) were never pushed: they are written again as this
 * site's changes, so the push sends them. Only the records of the changed stores are looked at.
 */
async function resendWidened(s: SyncStorage, before: Topology, after: Topology, siteId: SiteId): Promise<void> {
  const changed = changedStoreIds(before, after);
  if (changed.length === 0) return;
  for await (const page of pages(s, { storeIds: changed })) {
    const widened = page.filter((r) => decideEdit(after, siteId, r).ok && pushable(after, siteId, r) && !pushable(before, siteId, r));
    if (widened.length === 0) continue;
    await s.records.upsert(await s.records.getMany(widened), { sourceSiteId: siteId, viaSync: false });
  }
}

/** This site's own changes that go somewhere and are not pushed yet (all of them while it has no topology). */
export async function countUnpushed(s: SyncStorage, topology: Topology | null, siteId: SiteId, channel?: SyncChannel): Promise<number> {
  return (await unpushedChanges(s, siteId, topology)).filter(
    (c) => !topology || ((channel === undefined || syncChannelOf(topology, c.record.type) === channel) && pushable(topology, siteId, c.record)),
  ).length;
}

/** The data file's push namespace, made (or, with `renew`, replaced) from a new id. */
async function pushNamespace(settings: SettingsStore, ids: IdGenerator, renew: boolean, key: string): Promise<string> {
  const kept = await settings.get(key);
  if (typeof kept === 'string' && !renew) return kept;
  const made = ids.next();
  await settings.set(key, made);
  return made;
}
