import { RECORD_CATALOGUE } from '../catalogue';
import { recordKey, type SyncRecord } from '../record';
import { decideEdit } from '../rules/edit-rules';
import { decideReceipt, type RoutingContext } from '../rules/routing-rules';
import { hasRole, type SiteId } from '../site';
import type { Store, StoreId } from '../store';
import type { Topology } from '../topology';
import type { RecordSelector } from '../ports/record-store';
import type { SyncStorage } from '../ports/unit-of-work';
import { detectTransfer, transferProcessingSite } from '../transfers/transfer-rules';

/** The record types that make a patient visible in a store: `storeId` is the store, `patientId` the patient. */
export const VISIBILITY_TYPES = ['patient_visibility', 'name_store_join', 'new_patient_visibility'] as const;

/** The dispensary central data types (abbreviations, diagnoses, ...): routed by whether a site has an active dispensary store. */
export const DISPENSARY_CENTRAL_TYPES: readonly string[] = RECORD_CATALOGUE.filter((row) => row.special.includes('dispensary-central')).flatMap(
  (row) => row.recordTypes,
);

/** The record types of patient data (patients, prescribers and what belongs to them). */
const PATIENT_TYPES: readonly string[] = RECORD_CATALOGUE.filter((row) => row.category === 'patient').flatMap((row) => row.recordTypes);

/** Records looked at per query when a scope changes. */
const SCOPE_PAGE = 5_000;

/**
 * Where these patients are visible, from the central's visibility records: the routing context for
 * their patient data. One indexed query per page of patients; none when there are none.
 */
export async function visibilityContext(storage: SyncStorage, patientIds: Iterable<string>): Promise<RoutingContext> {
  const ids = [...new Set(patientIds)];
  if (ids.length === 0) return {};
  const visible = new Map<string, StoreId[]>();
  for await (const page of pages(storage, { patientIds: ids, types: VISIBILITY_TYPES })) {
    for (const r of page) {
      if (r.deleted === true || !r.patientId || !r.storeId) continue;
      const stores = visible.get(r.patientId) ?? [];
      stores.push(r.storeId);
      visible.set(r.patientId, stores);
    }
  }
  return { patientVisibleIn: (patientId) => visible.get(patientId) ?? [] };
}

/** The patients these records name (those that carry a patient). */
export function patientsOf(records: readonly SyncRecord[]): string[] {
  return [...new Set(records.flatMap((r) => (r.patientId ? [r.patientId] : [])))];
}

/** Whether `siteId` holds `record` under `topology` (whoever wrote it). */
export function siteHolds(topology: Topology, siteId: SiteId, record: SyncRecord, context: RoutingContext): boolean {
  const decision = decideReceipt(topology, siteId, record, context);
  return decision.ok && decision.value.receives;
}

/** Whether `siteId` owns `record` (may edit it): a site is never told to drop what it owns. */
export function siteOwns(topology: Topology, siteId: SiteId, record: SyncRecord): boolean {
  return decideEdit(topology, siteId, record).ok;
}

/** What a scope change means for one record on one site (docs/sync-rules.md table C). */
export const SCOPE_ACTIONS = ['send', 'drop', 'keep', 'nothing'] as const;
export type ScopeAction = (typeof SCOPE_ACTIONS)[number];

/**
 * What a change from `before` to `after` means for `record` on `siteId`: `send` (the site holds it
 * now and did not), `drop` (it held it, may no longer, and does not own it), `keep` (no longer routed
 * there, but the site owns it: never taken from its owner), `nothing` (its routing there did not
 * change). The central queues every record whose action is not `nothing`, and the pull decides it
 * again with this same predicate on the state of that moment.
 */
export function scopeAction(
  before: { readonly topology: Topology; readonly context: RoutingContext },
  after: { readonly topology: Topology; readonly context: RoutingContext },
  siteId: SiteId,
  record: SyncRecord,
): ScopeAction {
  const held = before.topology.site(siteId) !== undefined && siteHolds(before.topology, siteId, record, before.context);
  const holds = siteHolds(after.topology, siteId, record, after.context);
  if (held === holds) return 'nothing';
  if (holds) return 'send';
  return siteOwns(after.topology, siteId, record) ? 'keep' : 'drop';
}

export interface ScopeChangeReport {
  /** records looked at */
  readonly examined: number;
  /** per site, how many records were queued to it (to be sent or dropped) */
  readonly queued: ReadonlyMap<SiteId, number>;
}

/**
 * Applies a topology change to data (inside the unit of work that saves `after`): every record
 * whose routing to some remote site differs between `before` and `after` is queued to that site,
 * where the pull decides it again (sent if the site must hold it now, dropped if it must not and
 * does not own it). Only records the change can concern are looked at, by indexed routing columns:
 * those of the stores that changed (and of the patients visible in them), dispensary central data
 * when a site gained or lost its first active dispensary store, everything when site roles changed.
 * A change that concerns no store costs nothing, whatever the size of the database.
 */
async function queueScopeChange(storage: SyncStorage, before: Topology, after: Topology, changedStores: readonly StoreId[]): Promise<ScopeChangeReport> {
  const selectors = scopeSelectors(before, after, changedStores);
  if (selectors.length === 0) return NOTHING_QUEUED;
  if (changedStores.length > 0) {
    const patients = await patientsVisibleIn(storage, changedStores);
    if (patients.size > 0) selectors.push({ patientIds: [...patients] });
  }
  return queueWhere(
    storage,
    after,
    selectors,
    sameContexts(storage),
    (siteId, r, c) => scopeAction({ topology: before, context: c.before }, { topology: after, context: c.after }, siteId, r) !== 'nothing',
  );
}

const NOTHING_QUEUED: ScopeChangeReport = { examined: 0, queued: new Map() };

/** The patients visible in these stores (by their visibility records that are not deleted). */
async function patientsVisibleIn(storage: SyncStorage, storeIds: readonly StoreId[]): Promise<Set<string>> {
  const patients = new Set<string>();
  for await (const page of pages(storage, { storeIds, types: VISIBILITY_TYPES })) {
    for (const r of page) if (r.patientId && r.deleted !== true && r.storeId && storeIds.includes(r.storeId)) patients.add(r.patientId);
  }
  return patients;
}

/**
 * Applies a change of patient visibility to data (inside the unit of work that wrote the visibility
 * records): the records of these patients are queued to every site whose routing of them changed.
 */
export async function queueVisibilityChange(
  storage: SyncStorage,
  topology: Topology,
  patientIds: readonly string[],
  visibleBefore: RoutingContext,
): Promise<ScopeChangeReport> {
  if (patientIds.length === 0) return NOTHING_QUEUED;
  const visibleAfter = await visibilityContext(storage, patientIds);
  const changed = patientIds.filter((p) => !sameStores(visibleBefore.patientVisibleIn?.(p) ?? [], visibleAfter.patientVisibleIn?.(p) ?? []));
  if (changed.length === 0) return NOTHING_QUEUED;
  const contexts = { before: visibleBefore, after: visibleAfter };
  return queueWhere(
    storage,
    topology,
    [{ patientIds: changed }],
    () => Promise.resolve(contexts),
    (siteId, r, c) => scopeAction({ topology, context: c.before }, { topology, context: c.after }, siteId, r) !== 'nothing',
  );
}

/** The patients whose visibility these records can change. */
export function visibilityPatients(records: readonly SyncRecord[]): string[] {
  return patientsOf(records.filter((r) => (VISIBILITY_TYPES as readonly string[]).includes(r.type)));
}

type Contexts = { readonly before: RoutingContext; readonly after: RoutingContext };

/** The visibility of the records' patients now, as both contexts (the change is not one of visibility). */
function sameContexts(storage: SyncStorage): (records: readonly SyncRecord[]) => Promise<Contexts> {
  return async (records) => {
    const context = await visibilityContext(storage, patientsOf(records));
    return { before: context, after: context };
  };
}

/**
 * Queues, to every remote site of `topology`, the records `selectors` name (each once) for which
 * `queue(site, record, contexts)` says so: the one loop behind scope changes, visibility changes and
 * patient resyncs.
 */
async function queueWhere(
  storage: SyncStorage,
  topology: Topology,
  selectors: readonly RecordSelector[],
  contextsFor: (records: readonly SyncRecord[]) => Promise<Contexts>,
  queue: (siteId: SiteId, record: SyncRecord, contexts: Contexts) => boolean,
): Promise<ScopeChangeReport> {
  // The central routes; sites that no longer exist pull nothing.
  const sites = topology.sites.filter((s) => !hasRole(s, 'central')).map((s) => s.id);
  const seen = new Set<string>();
  const queued = new Map<SiteId, number>();
  let examined = 0;
  for (const selector of selectors) {
    for await (const page of pages(storage, selector)) {
      const fresh = page.filter((r) => !seen.has(recordKey(r)));
      for (const r of fresh) seen.add(recordKey(r));
      if (fresh.length === 0) continue;
      examined += fresh.length;
      const contexts = await contextsFor(fresh);
      for (const siteId of sites) {
        const keys = fresh.filter((r) => queue(siteId, r, contexts)).map((r) => ({ type: r.type, id: r.id }));
        if (keys.length === 0) continue;
        await storage.resync.enqueue(siteId, keys);
        queued.set(siteId, (queued.get(siteId) ?? 0) + keys.length);
      }
    }
  }
  return { examined, queued };
}

/** Ids per query at most (bound-parameter limits): a longer list is looked up a slice at a time. */
const IDS_PER_QUERY = 500;

/** The records `selector` names (without data), a page at a time. */
export async function* pages(storage: SyncStorage, selector: RecordSelector): AsyncGenerator<readonly SyncRecord[]> {
  for (const field of ['storeIds', 'patientIds'] as const) {
    const ids = selector[field];
    if (ids && ids.length > IDS_PER_QUERY) {
      for (let i = 0; i < ids.length; i += IDS_PER_QUERY) yield* pages(storage, { ...selector, [field]: ids.slice(i, i + IDS_PER_QUERY) });
      return;
    }
  }
  let after: Pick<SyncRecord, 'type' | 'id'> | undefined;
  for (;;) {
    const page = await storage.records.select(selector, after ? { after, limit: SCOPE_PAGE } : { limit: SCOPE_PAGE });
    if (page.length > 0) yield page;
    if (page.length < SCOPE_PAGE) return;
    const last = page[page.length - 1]!;
    after = { type: last.type, id: last.id };
  }
}

/** What records a topology change can concern. */
function scopeSelectors(before: Topology, after: Topology, changedStores: readonly StoreId[]): RecordSelector[] {
  const rolesChanged =
    before.sites.some((s) => {
      const now = after.site(s.id);
      return now !== undefined && !sameStores(s.roles, now.roles);
    }) || after.sites.some((s) => before.site(s.id) === undefined && s.roles.length > 0);
  if (rolesChanged) return [{}];
  const selectors: RecordSelector[] = [];
  if (changedStores.length > 0) selectors.push({ storeIds: changedStores });
  if (after.sites.some((s) => before.site(s.id) !== undefined && before.hasActiveDispensary(s.id) !== after.hasActiveDispensary(s.id))) {
    selectors.push({ types: DISPENSARY_CENTRAL_TYPES });
  }
  return selectors;
}

/** Stores added, removed, or changed in anything routing reads. */
export function changedStoreIds(before: Topology, after: Topology): StoreId[] {
  const ids = new Set([...before.stores.map((s) => s.id), ...after.stores.map((s) => s.id)]);
  return [...ids].filter((id) => routingShape(before.store(id)) !== routingShape(after.store(id))).sort();
}

function routingShape(store: Store | undefined): string {
  if (!store) return '';
  const copies = [...store.copies].sort((a, b) => a.siteId - b.siteId).map((c) => `${c.siteId}:${c.type}`);
  return JSON.stringify([store.activeSiteId, store.isDispensary, store.includeTransactionsInSync, store.centralisedProcurement, copies]);
}

function sameStores(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
}

/**
 * Saves a topology change and applies it to data, in the caller's unit of work: the one way the
 * central changes its topology (copies, moves, removals, store flags, site roles).
 */
export async function saveTopologyChange(storage: SyncStorage, before: Topology, after: Topology, now: Date): Promise<ScopeChangeReport> {
  // Records written while this runs must see `after`, and every record written before it must be looked at.
  await storage.records.holdWrites();
  await storage.topology.save(after);
  const changedStores = changedStoreIds(before, after);
  const report = await queueScopeChange(storage, before, after, changedStores);
  await handTransfersToCentral(
    storage,
    before,
    after,
    changedStores.filter((id) => before.store(id) && after.store(id)),
    now,
  );
  return report;
}

/**
 * Transfers whose two stores were on one site, which completed them there, and are now on two (a
 * store moved): the central completes them from now on, but its processor read them long ago. Each
 * is kept as an open `transfer.` issue, which transfer processing on the central retries at its next
 * run (and resolves once completed), so none is left half done and unseen.
 */
async function handTransfersToCentral(storage: SyncStorage, before: Topology, after: Topology, changed: readonly StoreId[], now: Date): Promise<void> {
  if (changed.length === 0) return;
  const central = after.central.id;
  for await (const page of pages(storage, { storeIds: changed, types: ['transaction', 'requisition', 'purchase_order'] })) {
    const headers = await storage.records.getMany(page.filter((r) => r.otherPartyStoreId));
    for (const header of headers) {
      const detected = detectTransfer(after, header);
      const then = detectTransfer(before, header);
      if (detected.kind !== 'initiating' || then.kind !== 'initiating') continue;
      if (transferProcessingSite(after, detected.initiating, detected.responding).site.id !== central) continue;
      if (transferProcessingSite(before, then.initiating, then.responding).site.id === central) continue;
      await storage.issues.report(
        recordKey(header),
        {
          code: 'transfer.processing-moved',
          rule: 'a transfer between stores on two sites is completed by the central',
          message: `${header.type} ${header.id}: its two stores are now active on different sites, so the central completes it (it was completed on the site they shared).`,
          fix: 'Nothing to do: the central completes it at its next transfer processing, and this issue closes.',
        },
        now,
      );
    }
  }
}

/**
 * "Resync the patients of store S" (an admin action, seed 002 "Patients"): the records of every
 * patient visible in S or whose home store is S are queued again to every remote site that holds
 * them now, so a site that lost or never got some of them receives them at its next pull.
 */
export async function queuePatientsOfStore(storage: SyncStorage, topology: Topology, storeId: StoreId): Promise<ScopeChangeReport> {
  const patients = await patientsVisibleIn(storage, [storeId]);
  // patients at home in the store: their patient data names it as home store (only patient types are looked at)
  for await (const page of pages(storage, { storeIds: [storeId], types: PATIENT_TYPES })) {
    for (const r of page) if (r.patientId && r.homeStoreId === storeId) patients.add(r.patientId);
  }
  if (patients.size === 0) return NOTHING_QUEUED;
  return queueWhere(storage, topology, [{ patientIds: [...patients] }], sameContexts(storage), (siteId, r, c) => siteHolds(topology, siteId, r, c.after));
}
