import { err, ok, type Result, type RuleViolation } from './result';
import {
  describeSite,
  hasRole,
  MAX_REQUEST_SIZE,
  MIN_REQUEST_SIZE,
  MIN_SYNC_INTERVAL_MINUTES,
  siteFromInput,
  type Site,
  type SiteId,
  type SiteInput,
} from './site';
import { withProcurementPreference } from './procurement';
import { describeStore, storeFromInput, type Store, type StoreId, type StoreInput } from './store';
import type { CopyType, SiteRole, SyncType } from './vocabulary';

export const TOPOLOGY_VIOLATION_CODES = [
  'topology.no-central',
  'topology.several-centrals',
  'topology.no-primary',
  'topology.several-primaries',
  'topology.several-oms-centrals',
  'topology.oms-central-url-missing',
  'topology.oms-central-not-remote',
  'topology.oms-central-store-not-dispensary',
  'topology.invalid-site-field',
  'topology.duplicate-site-id',
  'topology.duplicate-site-name',
  'topology.duplicate-store-id',
  'topology.invalid-store-field',
  'topology.store-active-site-unknown',
  'topology.store-copy-site-unknown',
  'topology.store-copy-on-active-site',
  'topology.store-duplicate-copy',
  'topology.store-missing-on-central',
  'topology.store-missing-on-primary',
  'topology.mobile-site-several-stores',
  'topology.unknown-site',
  'topology.unknown-store',
  'topology.site-has-stores',
  'topology.site-is-local',
] as const;
export type TopologyViolationCode = (typeof TOPOLOGY_VIOLATION_CODES)[number];

export interface TopologyViolation extends RuleViolation<TopologyViolationCode> {
  readonly siteId?: SiteId;
  readonly storeId?: StoreId;
  readonly field?: string;
}

export interface TopologyInput {
  readonly sites: readonly SiteInput[];
  readonly stores: readonly StoreInput[];
}

/**
 * Sites and stores with their sync types, in a state that satisfies every topology rule of the
 * seeds. The only ways to get one are `buildTopology` and the operations below, which all refuse
 * to produce a broken topology and say which rule and how to fix it.
 */
export class Topology {
  private readonly siteById: ReadonlyMap<SiteId, Site>;
  private readonly storeById: ReadonlyMap<StoreId, Store>;

  private constructor(
    readonly sites: readonly Site[],
    readonly stores: readonly Store[],
  ) {
    this.siteById = new Map(sites.map((s) => [s.id, s]));
    this.storeById = new Map(stores.map((s) => [s.id, s]));
  }

  /** @internal used by buildTopology after validation */
  static unchecked(sites: readonly Site[], stores: readonly Store[]): Topology {
    return new Topology(sites, stores);
  }

  site(id: SiteId): Site | undefined {
    return this.siteById.get(id);
  }

  store(id: StoreId): Store | undefined {
    return this.storeById.get(id);
  }

  siteByName(name: string): Site | undefined {
    return this.sites.find((s) => s.name === name);
  }

  get central(): Site {
    return this.withRole('central');
  }

  get primary(): Site {
    return this.withRole('primary');
  }

  get omsCentral(): Site | undefined {
    return this.sites.find((s) => hasRole(s, 'oms-central'));
  }

  /** The sync type store `storeId` has on site `siteId`: active there, or its copy type. */
  syncTypeOn(storeId: StoreId, siteId: SiteId): SyncType {
    const store = this.storeById.get(storeId);
    if (!store) return 'none';
    if (store.activeSiteId === siteId) return 'active';
    return store.copies.find((c) => c.siteId === siteId)?.type ?? 'none';
  }

  storesActiveOn(siteId: SiteId): readonly Store[] {
    return this.stores.filter((s) => s.activeSiteId === siteId);
  }

  hasActiveDispensary(siteId: SiteId): boolean {
    return this.stores.some((s) => s.activeSiteId === siteId && s.isDispensary);
  }

  /** Operations: each returns a new topology, or the violations that refused it. */
  withSite(input: SiteInput): Result<Topology, readonly TopologyViolation[]> {
    if (this.siteById.has(input.id)) {
      return err([violation('topology.duplicate-site-id', { siteId: input.id })]);
    }
    return validate([...this.sites, siteFromInput(input)], this.stores);
  }

  updateSite(id: SiteId, patch: Partial<Omit<Site, 'id'>>): Result<Topology, readonly TopologyViolation[]> {
    const site = this.siteById.get(id);
    if (!site) return err([violation('topology.unknown-site', { siteId: id })]);
    return validate(
      this.sites.map((s) => (s.id === id ? { ...s, ...patch, id } : s)),
      this.stores,
    );
  }

  /** Seed 003: a site can be deleted only when it has no stores and is not the site this server runs as. */
  withoutSite(id: SiteId, localSiteId: SiteId): Result<Topology, readonly TopologyViolation[]> {
    const site = this.siteById.get(id);
    if (!site) return err([violation('topology.unknown-site', { siteId: id })]);
    const problems: TopologyViolation[] = [];
    const active = this.storesActiveOn(id);
    if (active.length > 0) problems.push(violation('topology.site-has-stores', { site, stores: active }));
    if (id === localSiteId) problems.push(violation('topology.site-is-local', { site }));
    if (problems.length > 0) return err(problems);
    return validate(
      this.sites.filter((s) => s.id !== id),
      this.stores.map((s) => ({ ...s, copies: s.copies.filter((c) => c.siteId !== id) })),
    );
  }

  withStore(input: StoreInput): Result<Topology, readonly TopologyViolation[]> {
    if (this.storeById.has(input.id)) {
      return err([violation('topology.duplicate-store-id', { storeId: input.id })]);
    }
    return validate(this.sites, [...this.stores, storeFromInput(input)]);
  }

  updateStore(id: StoreId, patch: Partial<Omit<Store, 'id'>>): Result<Topology, readonly TopologyViolation[]> {
    const store = this.storeById.get(id);
    if (!store) return err([violation('topology.unknown-store', { storeId: id })]);
    const next = storeFromInput({ ...store, ...patch, id });
    return validate(
      this.sites,
      this.stores.map((s) => (s.id === id ? next : s)),
    );
  }

  /** Sets the copy type of a store on a site where it is not active (central's store sync settings). */
  withCopyType(storeId: StoreId, siteId: SiteId, type: CopyType): Result<Topology, readonly TopologyViolation[]> {
    const store = this.storeById.get(storeId);
    if (!store) return err([violation('topology.unknown-store', { storeId })]);
    if (!this.siteById.has(siteId)) return err([violation('topology.unknown-site', { siteId })]);
    const copies = [...store.copies.filter((c) => c.siteId !== siteId), { siteId, type }];
    return this.updateStore(storeId, { copies });
  }

  /** The whole topology as plain data: what `buildTopology` takes back. */
  toInput(): TopologyInput {
    return { sites: this.sites, stores: this.stores };
  }

  private withRole(role: SiteRole): Site {
    const site = this.sites.find((s) => hasRole(s, role));
    // buildTopology guarantees exactly one central and one primary.
    if (!site) throw new Error(`invariant broken: no ${role} site in a validated topology`);
    return site;
  }
}

/** Builds a topology, refusing it with every violated rule (not just the first). */
export function buildTopology(input: TopologyInput): Result<Topology, readonly TopologyViolation[]> {
  const sites = input.sites.map(siteFromInput);
  const stores = input.stores.map(storeFromInput);
  const duplicates: TopologyViolation[] = [];
  for (const id of findDuplicates(sites.map((s) => s.id))) {
    duplicates.push(violation('topology.duplicate-site-id', { siteId: id }));
  }
  for (const id of findDuplicates(stores.map((s) => s.id))) {
    duplicates.push(violation('topology.duplicate-store-id', { storeId: id }));
  }
  if (duplicates.length > 0) return err(duplicates);
  return validate(sites, stores);
}

function validate(sites: readonly Site[], stores: readonly Store[]): Result<Topology, readonly TopologyViolation[]> {
  const problems: TopologyViolation[] = [];
  const siteById = new Map(sites.map((s) => [s.id, s]));

  for (const site of sites) problems.push(...siteFieldViolations(site));
  for (const name of findDuplicates(sites.map((s) => s.name.trim().toLowerCase()))) {
    problems.push(violation('topology.duplicate-site-name', { name }));
  }

  const centrals = sites.filter((s) => hasRole(s, 'central'));
  const primaries = sites.filter((s) => hasRole(s, 'primary'));
  const omsCentrals = sites.filter((s) => hasRole(s, 'oms-central'));
  if (centrals.length === 0) problems.push(violation('topology.no-central', {}));
  if (centrals.length > 1) problems.push(violation('topology.several-centrals', { sites: centrals }));
  if (primaries.length === 0) problems.push(violation('topology.no-primary', {}));
  if (primaries.length > 1) problems.push(violation('topology.several-primaries', { sites: primaries }));
  if (omsCentrals.length > 1) problems.push(violation('topology.several-oms-centrals', { sites: omsCentrals }));
  for (const site of omsCentrals) {
    if (!site.omsCentralUrl) problems.push(violation('topology.oms-central-url-missing', { site }));
    if (hasRole(site, 'central')) problems.push(violation('topology.oms-central-not-remote', { site }));
    // seed 000: every store on the Open mSupply central server runs in dispensary mode
    for (const store of stores.filter((s) => s.activeSiteId === site.id && !s.isDispensary)) {
      problems.push(violation('topology.oms-central-store-not-dispensary', { site, store }));
    }
  }

  for (const store of stores) {
    if (store.name.trim() === '' || store.id.trim() === '') {
      problems.push(violation('topology.invalid-store-field', { store, field: store.id.trim() === '' ? 'id' : 'name' }));
    }
    const active = siteById.get(store.activeSiteId);
    if (!active) {
      problems.push(violation('topology.store-active-site-unknown', { store }));
    }
    for (const siteId of findDuplicates(store.copies.map((c) => c.siteId))) {
      problems.push(violation('topology.store-duplicate-copy', { store, siteId }));
    }
    for (const copy of store.copies) {
      const site = siteById.get(copy.siteId);
      if (!site) problems.push(violation('topology.store-copy-site-unknown', { store, siteId: copy.siteId }));
      else if (copy.siteId === store.activeSiteId) problems.push(violation('topology.store-copy-on-active-site', { store, site }));
    }
    const presentOn = (site: Site): boolean => store.activeSiteId === site.id || store.copies.some((c) => c.siteId === site.id && c.type !== 'none');
    for (const central of centrals) {
      if (active && !presentOn(central)) problems.push(violation('topology.store-missing-on-central', { store, site: central }));
    }
    for (const primary of primaries) {
      if (active && !presentOn(primary) && !hasRole(primary, 'central')) {
        problems.push(violation('topology.store-missing-on-primary', { store, site: primary }));
      }
    }
  }

  for (const site of sites.filter((s) => s.deviceType === 'mobile')) {
    const active = stores.filter((s) => s.activeSiteId === site.id);
    if (active.length > 1) problems.push(violation('topology.mobile-site-several-stores', { site, stores: active }));
  }

  return problems.length > 0 ? err(problems) : ok(Topology.unchecked(sites, withProcurementPreference(sites, stores)));
}

function siteFieldViolations(site: Site): TopologyViolation[] {
  const bad = (field: string, rule: string, fix: string): TopologyViolation => ({
    code: 'topology.invalid-site-field',
    rule,
    message: `${describeSite(site)}: field "${field}" is invalid (${rule}).`,
    fix,
    siteId: site.id,
    field,
  });
  const problems: TopologyViolation[] = [];
  if (!Number.isInteger(site.id) || site.id <= 0) {
    problems.push(bad('id', 'a site id is a positive whole number assigned by the central', 'Let the central assign the next free site id.'));
  }
  if (site.name.trim() === '') {
    problems.push(bad('name', 'a site needs a name: remote sites authenticate with it', 'Give the site a unique, non-empty name.'));
  }
  if (!Number.isFinite(site.syncIntervalMinutes) || site.syncIntervalMinutes < MIN_SYNC_INTERVAL_MINUTES) {
    problems.push(
      bad(
        'syncIntervalMinutes',
        `the sync interval is at least ${MIN_SYNC_INTERVAL_MINUTES} minute`,
        `Set the sync interval to ${MIN_SYNC_INTERVAL_MINUTES} minute or more.`,
      ),
    );
  }
  if (!Number.isInteger(site.requestSize) || site.requestSize < MIN_REQUEST_SIZE || site.requestSize > MAX_REQUEST_SIZE) {
    problems.push(
      bad(
        'requestSize',
        `the sync request size is a whole number of records between ${MIN_REQUEST_SIZE} and ${MAX_REQUEST_SIZE}`,
        `Set the request size between ${MIN_REQUEST_SIZE} and ${MAX_REQUEST_SIZE}; it adjusts itself while syncing.`,
      ),
    );
  }
  if (!Number.isInteger(site.failedLoginCount) || site.failedLoginCount < 0) {
    problems.push(bad('failedLoginCount', 'the failed login count is a whole number, zero or more', 'Reset the failed login count to 0.'));
  }
  return problems;
}

type Details = {
  site?: Site;
  sites?: readonly Site[];
  store?: Store;
  stores?: readonly Store[];
  siteId?: SiteId;
  storeId?: StoreId;
  name?: string;
  field?: string;
};

function violation(code: TopologyViolationCode, d: Details): TopologyViolation {
  const site = d.site ? describeSite(d.site) : `site ${String(d.siteId)}`;
  const store = d.store ? describeStore(d.store) : `store ${String(d.storeId)}`;
  const siteList = (d.sites ?? []).map(describeSite).join(', ');
  const storeList = (d.stores ?? []).map(describeStore).join(', ');
  const ids = {
    ...(d.site ? { siteId: d.site.id } : d.siteId !== undefined ? { siteId: d.siteId } : {}),
    ...(d.store ? { storeId: d.store.id } : d.storeId !== undefined ? { storeId: d.storeId } : {}),
    ...(d.field !== undefined ? { field: d.field } : {}),
  };
  const make = (rule: string, message: string, fix: string): TopologyViolation => ({ code, rule, message, fix, ...ids });
  switch (code) {
    case 'topology.no-central':
      return make(
        'there is exactly one central (sync) server',
        'No site has the central role.',
        'Give the central role to the one site that routes sync for all others.',
      );
    case 'topology.several-centrals':
      return make('there is exactly one central (sync) server', `Several sites have the central role: ${siteList}.`, 'Keep the central role on one site only.');
    case 'topology.no-primary':
      return make(
        'there is exactly one primary server, which owns central data',
        'No site has the primary role.',
        'Give the primary role to the central, or to the one remote site that edits central data (mirrored sync).',
      );
    case 'topology.several-primaries':
      return make(
        'there is exactly one primary server, which owns central data',
        `Several sites have the primary role: ${siteList}.`,
        'Keep the primary role on one site only.',
      );
    case 'topology.several-oms-centrals':
      return make(
        'at most one site is the Open mSupply central server',
        `Several sites are flagged Open mSupply central: ${siteList}.`,
        'Clear the Open mSupply central flag on all but one site.',
      );
    case 'topology.oms-central-url-missing':
      return make(
        'the Open mSupply central server has a URL remote sites can reach',
        `${site} is flagged Open mSupply central but has no URL.`,
        'Enter the Open mSupply central server URL on that site.',
      );
    case 'topology.oms-central-not-remote':
      return make(
        'the Open mSupply central server is a remote site of the mSupply central',
        `${site} is the mSupply central and cannot also be flagged Open mSupply central.`,
        'Flag the remote site that runs the Open mSupply central server instead (sitesync-central site set --site N --oms-central on --oms-central-url URL).',
      );
    case 'topology.oms-central-store-not-dispensary':
      return make(
        'every store on the Open mSupply central server runs in dispensary mode',
        `${store} is active on ${site}, the Open mSupply central server, and is not a dispensary.`,
        `Turn dispensary mode on for it (sitesync-central store set --store ${d.store?.id ?? 'ID'} --dispensary on), or make it active on another site, before flagging the site.`,
      );
    case 'topology.invalid-site-field':
      return make('site fields are valid', `${site}: field "${String(d.field)}" is invalid.`, 'Correct the field.');
    case 'topology.duplicate-site-id':
      return make('site ids are unique', `Two sites have id ${String(d.siteId)}.`, 'Let the central assign the next free site id.');
    case 'topology.duplicate-site-name':
      return make(
        'site names are unique: remote sites authenticate with them',
        `Two sites are named "${String(d.name)}" (names compare case-insensitively).`,
        'Rename one of the sites.',
      );
    case 'topology.duplicate-store-id':
      return make('store ids are unique', `Two stores have id "${String(d.storeId)}".`, 'Give each store its own id.');
    case 'topology.invalid-store-field':
      return make('a store has a non-empty id and name', `${store}: field "${String(d.field)}" is empty.`, 'Fill in the store id and name.');
    case 'topology.store-active-site-unknown':
      return make(
        'every store is active on exactly one existing site',
        `${store} is active on site ${String(d.store?.activeSiteId)}, which does not exist.`,
        'Make the store active on an existing site (the central if in doubt).',
      );
    case 'topology.store-copy-site-unknown':
      return make(
        'copy types refer to existing sites',
        `${store} has a copy type on site ${String(d.siteId)}, which does not exist.`,
        'Remove that copy type or create the site first.',
      );
    case 'topology.store-copy-on-active-site':
      return make(
        'a store is active on exactly one site and has a copy type only on the others',
        `${store} is active on ${site} and also has a copy type there.`,
        'Remove the copy type on the site where the store is active.',
      );
    case 'topology.store-duplicate-copy':
      return make('a store has one copy type per site', `${store} has several copy types on site ${String(d.siteId)}.`, 'Keep one copy type per site.');
    case 'topology.store-missing-on-central':
      return make(
        'every store exists on the central server',
        `${store} is active on site ${String(d.store?.activeSiteId)} but has no copy on the central ${site}.`,
        'Give the store a collector copy on the central (to report on it) or a transfer copy (to route its transfers).',
      );
    case 'topology.store-missing-on-primary':
      return make(
        'every store exists on the primary server',
        `${store} has no copy on the primary ${site}.`,
        'Give the store a collector or transfer copy on the primary.',
      );
    case 'topology.mobile-site-several-stores':
      return make(
        'a mobile site holds at most one store',
        `Mobile ${site} would hold ${String(d.stores?.length)} stores: ${storeList}.`,
        'Keep one store on the mobile site; make the others active on a desktop site or the central.',
      );
    case 'topology.unknown-site':
      return make('the site must exist', `There is no site ${String(d.siteId)}.`, 'Check the site id (list the sites to see them).');
    case 'topology.unknown-store':
      return make('the store must exist', `There is no store "${String(d.storeId)}".`, 'Check the store id (list the stores to see them).');
    case 'topology.site-has-stores':
      return make(
        'a site can be deleted only when no store is active on it',
        `${site} still has ${storeList} active on it.`,
        'Remove its stores first: a store removed from a remote site moves to the central.',
      );
    case 'topology.site-is-local':
      return make(
        'a site cannot be deleted on the server that runs as it',
        `${site} is the site this server runs as.`,
        'Delete it from another server, or delete another site.',
      );
  }
}

function findDuplicates<T>(values: readonly T[]): T[] {
  const seen = new Set<T>();
  const dups = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) dups.add(v);
    seen.add(v);
  }
  return [...dups];
}
