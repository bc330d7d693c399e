import type { SiteId } from './site';
import type { CopyType } from './vocabulary';

export type StoreId = string;

/** The copy type a store has on one site other than the one where it is active. */
export interface StoreCopy {
  readonly siteId: SiteId;
  readonly type: CopyType;
}

/** A store (seed 002, "Store setup"). Active on exactly one site; a copy type on every other. */
export interface Store {
  readonly id: StoreId;
  readonly code: string;
  readonly name: string;
  /** the only site where this store's store data may be added, edited or deleted */
  readonly activeSiteId: SiteId;
  readonly isDispensary: boolean;
  /** dispensary stores only: when off, transactions, prescriptions, stock lines and stocktakes stay off the central */
  readonly includeTransactionsInSync: boolean;
  /**
   * Purchase orders (and payments) for this store are entered on the primary. Derived by every
   * topology from the sites' centralised procurement preference (`withProcurementPreference`) when
   * the primary or the store's active site has one; as given otherwise (a remote's copy of the
   * topology, a central from before the preference).
   */
  readonly centralisedProcurement: boolean;
  /** copy types on other sites; a site not listed holds no copy ("none") */
  readonly copies: readonly StoreCopy[];
}

export type StoreInput = Pick<Store, 'id' | 'name' | 'activeSiteId'> & Partial<Omit<Store, 'id' | 'name' | 'activeSiteId'>>;

export function storeFromInput(input: StoreInput): Store {
  return {
    id: input.id,
    code: input.code ?? input.id,
    name: input.name,
    activeSiteId: input.activeSiteId,
    isDispensary: input.isDispensary ?? false,
    includeTransactionsInSync: input.includeTransactionsInSync ?? true,
    centralisedProcurement: input.centralisedProcurement ?? false,
    // "none" copies are not stored: a site not listed holds no copy.
    copies: (input.copies ?? []).filter((c) => c.type !== 'none'),
  };
}

export function describeStore(store: Store): string {
  return `store ${store.code} "${store.name}"`;
}
