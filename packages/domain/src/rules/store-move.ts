import type { SyncRecord } from '../record';
import { err, ok, type Result } from '../result';
import { describeSite, type SiteId } from '../site';
import { describeStore, type StoreId } from '../store';
import type { Topology, TopologyViolation } from '../topology';
import type { CopyType } from '../vocabulary';
import { decideReceipt, type RoutingContext } from './routing-rules';

export interface StoreMovePlan {
  readonly storeId: StoreId;
  readonly fromSiteId: SiteId;
  readonly toSiteId: SiteId;
  readonly leftOnOldSite: CopyType;
  /** the topology once the move is done */
  readonly topology: Topology;
  /** what must be true before the move starts (seed 002, "Moving a store from one sync site to another") */
  readonly preconditions: readonly string[];
  /** what is queued to the new site, in words */
  readonly queued: readonly string[];
}

/**
 * Moves a store to another site: it becomes active there, keeps `leaveOnOldSite` on the old site,
 * and everything the new site must now hold is queued to it (see `queuedByStoreMove`).
 */
export function planStoreMove(
  topology: Topology,
  storeId: StoreId,
  toSiteId: SiteId,
  leaveOnOldSite: CopyType,
): Result<StoreMovePlan, readonly TopologyViolation[]> {
  const store = topology.store(storeId);
  if (!store) {
    return err([
      { code: 'topology.unknown-store', rule: 'the store must exist', message: `There is no store "${storeId}".`, fix: 'Check the store id.', storeId },
    ]);
  }
  const to = topology.site(toSiteId);
  if (!to) {
    return err([
      {
        code: 'topology.unknown-site',
        rule: 'the site must exist',
        message: `There is no site ${toSiteId}.`,
        fix: 'Create the site first (seed 002: use the site wizard).',
        siteId: toSiteId,
      },
    ]);
  }
  const from = topology.site(store.activeSiteId)!;
  if (from.id === to.id) {
    return err([
      {
        code: 'topology.store-copy-on-active-site',
        rule: 'a store moves to a site where it is not already active',
        message: `${describeStore(store)} is already active on ${describeSite(to)}.`,
        fix: 'Pick another target site.',
        storeId,
        siteId: toSiteId,
      },
    ]);
  }
  const copies = [...store.copies.filter((c) => c.siteId !== to.id && c.siteId !== from.id), { siteId: from.id, type: leaveOnOldSite }];
  const moved = topology.updateStore(storeId, { activeSiteId: to.id, copies });
  if (!moved.ok) return moved;
  const name = describeStore(store);
  return ok({
    storeId,
    fromSiteId: from.id,
    toSiteId: to.id,
    leftOnOldSite: leaveOnOldSite,
    topology: moved.value,
    preconditions: [
      `${describeSite(from)} has pushed everything and pulled everything (fully synchronised).`,
      ...(to.deviceType === 'desktop' && !to.roles.includes('central') ? [`${describeSite(to)} is fully synchronised.`] : []),
      `No new data is entered in ${name} on either site until the move is complete.`,
    ],
    queued: [
      `${name}: store record, central store data and all its store data, to ${describeSite(to)}`,
      `transfers between ${name} and other stores`,
      `patients visible in ${name}, and their data`,
    ],
  });
}

/** A store removed from a remote site moves to the central (seed 003, "Removing stores"). */
export function planStoreRemoval(topology: Topology, storeId: StoreId, leaveOnOldSite: CopyType = 'none') {
  return planStoreMove(topology, storeId, topology.central.id, leaveOnOldSite);
}

/**
 * Whether `record` must be queued to the new site by the move: it is one the new site holds under
 * the new topology and did not hold before. Patient data is included (a known Open mSupply bug forgot it).
 */
export function queuedByStoreMove(plan: StoreMovePlan, before: Topology, record: SyncRecord, context: RoutingContext = {}): boolean {
  const after = decideReceipt(plan.topology, plan.toSiteId, record, context);
  if (!after.ok || !after.value.receives) return false;
  const earlier = decideReceipt(before, plan.toSiteId, record, context);
  return !earlier.ok || !earlier.value.receives;
}

/**
 * Whether the central holds all of a store's data, so a new site can receive it from there: the
 * store is active on the central or has a collector copy there, and is not a dispensary that keeps
 * its transactions home ("include transactions in sync" off). A store whose data the central does
 * not hold cannot be moved by sync: its data would stay behind on the old site.
 */
export function storeDataOnCentral(topology: Topology, storeId: StoreId): boolean {
  const store = topology.store(storeId);
  if (!store) return false;
  const onCentral = topology.syncTypeOn(storeId, topology.central.id);
  return (onCentral === 'active' || onCentral === 'collector') && !(store.isDispensary && !store.includeTransactionsInSync);
}
