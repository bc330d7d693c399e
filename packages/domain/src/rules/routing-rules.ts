import type { SyncRecord } from '../record';
import { err, ok, type Result, type RuleViolation } from '../result';
import { describeSite, hasRole, type Site, type SiteId } from '../site';
import { describeStore, type Store, type StoreId } from '../store';
import type { Topology } from '../topology';
import { classifyRecord, type ClassifiedRecord, type RecordViolation } from './classify';
import { topologyForRecord } from './store-creation';
import { syncChannelOf } from '../sync-channel';

/** The rows of the "where a change goes" decision table in docs/sync-rules.md. */
export const ROUTING_RULES = [
  'origin-never-echoed',
  'central-to-all',
  'dispensary-central-to-dispensary-sites',
  'dispensary-central-withheld',
  'central-hub',
  'store-record-to-copies',
  'store-record-withheld',
  'central-store-to-active-site',
  'central-store-withheld',
  'oms-central-synced',
  'oms-central-not-on-central',
  'store-to-active-site',
  'store-to-collector',
  'transfer-to-other-party',
  'transfer-needs-copy',
  'transfer-via-central',
  'dispensary-transactions-withheld',
  'new-user-to-central',
  'store-withheld',
  'patient-to-primary',
  'patient-to-home-site',
  'patient-to-visible-stores',
  'patient-withheld',
  'local-never-synced',
  'sync-indirect',
  'message-to-stores',
  'message-withheld',
] as const;
export type RoutingRule = (typeof ROUTING_RULES)[number];

/** Facts the topology does not hold but patient routing needs. */
export interface RoutingContext {
  /** the stores in which a patient is visible (name visibility); unknown when absent */
  readonly patientVisibleIn?: (patientId: string) => readonly StoreId[];
}

export interface ReceiptDecision {
  readonly siteId: SiteId;
  readonly receives: boolean;
  readonly rule: RoutingRule;
  /** why this site does or does not receive the record, in words a support person understands */
  readonly reason: string;
}

export interface TransferRoutingViolation extends RuleViolation<'transfer.store-has-no-copy'> {
  readonly storeId: StoreId;
  readonly siteId: SiteId;
}

export interface Routing {
  readonly record: SyncRecord;
  readonly originSiteId: SiteId;
  /** the sites the change goes to, each with its reason */
  readonly destinations: readonly ReceiptDecision[];
  /** the other sites, each with the reason it does not get the change */
  readonly withheld: readonly ReceiptDecision[];
  /** configuration that stops the change reaching a site it should reach */
  readonly problems: readonly TransferRoutingViolation[];
}

/**
 * Does `siteId` hold `record`? This one predicate decides where a change goes, what a site receives
 * when it is initialised and what is queued when a store moves.
 */
export function decideReceipt(topology: Topology, siteId: SiteId, record: SyncRecord, context: RoutingContext = {}): Result<ReceiptDecision, RecordViolation> {
  const classified = classifyRecord(topology, record);
  if (!classified.ok) return classified;
  const site = topology.site(siteId);
  if (!site) throw new Error(`decideReceipt: unknown site ${siteId}`);
  return ok(receipt(topology, site, classified.value, context));
}

/** Where a change made on `originSiteId` goes, and why it goes nowhere else. */
export function routeChange(given: Topology, originSiteId: SiteId, record: SyncRecord, context: RoutingContext = {}): Result<Routing, RecordViolation> {
  const topology = topologyForRecord(given, originSiteId, record);
  const classified = classifyRecord(topology, record);
  if (!classified.ok) return classified;
  if (!topology.site(originSiteId)) {
    return err({
      code: 'record.unknown-store',
      rule: 'a change comes from an existing site',
      message: `${record.type} ${record.id}: origin site ${originSiteId} does not exist.`,
      fix: 'Check the site id.',
      recordType: record.type,
      recordId: record.id,
    });
  }
  const destinations: ReceiptDecision[] = [];
  const withheld: ReceiptDecision[] = [];
  const problems: TransferRoutingViolation[] = [];
  for (const site of topology.sites) {
    if (site.id === originSiteId) continue;
    const decision = receipt(topology, site, classified.value, context);
    (decision.receives ? destinations : withheld).push(decision);
    if (decision.rule === 'transfer-needs-copy') {
      const { store } = classified.value;
      problems.push({
        code: 'transfer.store-has-no-copy',
        rule: 'both stores of a transfer exist on both sites',
        message: decision.reason,
        fix: `On the central, give ${describeStore(store!)} a transfer copy on ${describeSite(site)}.`,
        storeId: store!.id,
        siteId: site.id,
      });
    }
  }
  return ok({ record, originSiteId, destinations, withheld, problems });
}

function receipt(topology: Topology, site: Site, c: ClassifiedRecord, context: RoutingContext): ReceiptDecision {
  const yes = (rule: RoutingRule, reason: string): ReceiptDecision => ({ siteId: site.id, receives: true, rule, reason });
  const no = (rule: RoutingRule, reason: string): ReceiptDecision => ({ siteId: site.id, receives: false, rule, reason });
  const { row, record } = c;
  const label = row.label;
  const isCentral = hasRole(site, 'central');
  const omsSynced = row.special.includes('oms-central-synced') && hasRole(site, 'oms-central');
  // seed 000: once a site is flagged as the Open mSupply central server, its data types go through it only
  const oms = isCentral && syncChannelOf(topology, record.type) === 'oms-central' ? topology.omsCentral : undefined;
  if (oms) {
    return no(
      'oms-central-not-on-central',
      `${label} synchronises with the Open mSupply central server (${describeSite(oms)}): the mSupply central keeps none of it.`,
    );
  }

  switch (row.category) {
    case 'local':
      return no('local-never-synced', `${label} is local data: it never leaves the site where it was entered.`);
    case 'sync':
      return no(
        'sync-indirect',
        `${label} is sync data: edited on the central, it reaches remote sites only indirectly, through the settings the central applies to them.`,
      );
    case 'central': {
      if (!row.special.includes('dispensary-central')) return yes('central-to-all', `${label} is central data: it goes to every site.`);
      if (isCentral) return yes('central-hub', `${label} is dispensary central data: the central keeps it to route it.`);
      if (topology.hasActiveDispensary(site.id)) {
        return yes('dispensary-central-to-dispensary-sites', `${label} is dispensary central data, and this site has an active dispensary store.`);
      }
      return no(
        'dispensary-central-withheld',
        `${label} is dispensary central data: it goes only to sites with at least one active dispensary store, and this site has none.`,
      );
    }
    case 'central-store': {
      const store = c.store!;
      const owner = describeStore(store);
      const syncType = topology.syncTypeOn(store.id, site.id);
      if (record.type === 'store') {
        if (isCentral || hasRole(site, 'primary'))
          return yes('store-record-to-copies', `Every store exists on the central and on the primary, so ${owner}'s store record goes there.`);
        if (syncType !== 'none')
          return yes(
            'store-record-to-copies',
            `The store record goes to every site holding the store; ${owner} is ${syncType === 'active' ? 'active' : `a ${syncType} copy`} here.`,
          );
        return no('store-record-withheld', `The store record goes only to sites holding the store; ${owner} has no copy here.`);
      }
      if (syncType === 'active') return yes('central-store-to-active-site', `${label} is central store data of ${owner}, which is active here.`);
      if (isCentral) return yes('central-hub', `${label} is central store data: the central keeps it to route it to ${owner}'s active site.`);
      if (omsSynced) return yes('oms-central-synced', `${label} also synchronises with the Open mSupply central server.`);
      return no('central-store-withheld', `${label} is central store data of ${owner}: it goes only to the site where that store is active.`);
    }
    case 'store':
      return storeReceipt(topology, site, c, yes, no, omsSynced);
    case 'patient':
      return patientReceipt(topology, site, c, context, yes, no);
    case 'message': {
      const stores = [c.store, c.otherParty].filter((s): s is Store => s !== null);
      const mine = stores.find((s) => s.activeSiteId === site.id);
      if (mine) return yes('message-to-stores', `Messages go to the sites of their sending and receiving stores; ${describeStore(mine)} is active here.`);
      if (isCentral) return yes('central-hub', 'Messages pass through the central, which routes them by their sending and receiving stores.');
      return no('message-withheld', 'Messages go only to the sites of their sending and receiving stores, and neither is active here.');
    }
  }
}

type Decide = (rule: RoutingRule, reason: string) => ReceiptDecision;

function storeReceipt(topology: Topology, site: Site, c: ClassifiedRecord, yes: Decide, no: Decide, omsSynced: boolean): ReceiptDecision {
  const { row } = c;
  const store = c.store!;
  const owner = describeStore(store);
  const syncType = topology.syncTypeOn(store.id, site.id);
  const isCentral = hasRole(site, 'central');
  const other = c.otherParty;
  const isTransfer = row.special.includes('transfer') && other !== null && other.activeSiteId !== store.activeSiteId;

  if (syncType === 'active') return yes('store-to-active-site', `${row.label} is store data of ${owner}, which is active here.`);
  if (isTransfer && other.activeSiteId === site.id) {
    if (syncType === 'none') {
      return no(
        'transfer-needs-copy',
        `${row.label} of ${owner} is a transfer with ${describeStore(other)}, active here, but ${owner} has no copy on this site, so it cannot be delivered.`,
      );
    }
    return yes(
      'transfer-to-other-party',
      `${row.label} of ${owner} is a transfer with ${describeStore(other)}, which is active here (${owner} is a ${syncType} copy here).`,
    );
  }
  if (!isTransfer && row.special.includes('dispensary-transactions') && store.isDispensary && !store.includeTransactionsInSync) {
    return no(
      'dispensary-transactions-withheld',
      `${owner} is a dispensary with "include transactions in sync" off: its ${row.label.toLowerCase()} stay on its own site.`,
    );
  }
  if (syncType === 'collector') return yes('store-to-collector', `${row.label} is store data of ${owner}, which has a collector copy here.`);
  if (isCentral && isTransfer)
    return yes(
      'transfer-via-central',
      `${row.label} of ${owner} is a transfer with ${describeStore(other)} on another site: the central completes and routes it.`,
    );
  if (isCentral && row.special.includes('new-user-to-central')) return yes('new-user-to-central', 'New user records are sent to the central server.');
  if (omsSynced) return yes('oms-central-synced', `${row.label} also synchronises with the Open mSupply central server.`);
  if (syncType === 'transfer')
    return no('store-withheld', `${owner} is only a transfer copy here: it receives transfers with this site's stores, no other store data.`);
  return no('store-withheld', `${row.label} is store data of ${owner}: it goes only to sites holding a collector copy, and this site holds none.`);
}

function patientReceipt(topology: Topology, site: Site, c: ClassifiedRecord, context: RoutingContext, yes: Decide, no: Decide): ReceiptDecision {
  const { row, record } = c;
  const home = c.homeStore!;
  if (home.activeSiteId === site.id)
    return yes('patient-to-home-site', `${row.label} belongs to a patient whose home store ${describeStore(home)} is active here.`);
  if (hasRole(site, 'primary')) return yes('patient-to-primary', `${row.label} is patient data: it is always sent to the primary server.`);
  if (hasRole(site, 'central')) return yes('central-hub', `${row.label} is patient data: the central keeps it to route it.`);
  if (row.special.includes('new-patient-visibility')) {
    return no('patient-withheld', `${row.label}: new visibility records go to the central server; other sites learn visibility from the primary.`);
  }
  if (!context.patientVisibleIn) {
    return no(
      'patient-withheld',
      `${row.label} goes to sites where the patient is visible, and no visibility is known for patient ${String(record.patientId)}.`,
    );
  }
  const visible = context.patientVisibleIn(record.patientId!);
  const holder = visible
    .map((id) => topology.store(id))
    .find((s): s is Store => s !== undefined && ['active', 'collector'].includes(topology.syncTypeOn(s.id, site.id)));
  if (holder) {
    return yes(
      'patient-to-visible-stores',
      `${row.label} goes to sites with an active or collector store in which the patient is visible: ${describeStore(holder)} (${topology.syncTypeOn(holder.id, site.id)} here).`,
    );
  }
  return no('patient-withheld', `${row.label} goes to sites with an active or collector store in which the patient is visible; this site has none.`);
}
