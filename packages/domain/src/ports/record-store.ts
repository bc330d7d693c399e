import type { SyncRecord } from '../record';
import type { SiteId } from '../site';
import type { StoreId } from '../store';

/** Where a write comes from: the change feed keeps it, so a record that arrived by sync is never pushed back. */
export interface ChangeOrigin {
  /** the site where the change was made */
  readonly sourceSiteId: SiteId;
  /** true when the change was received by sync rather than made on this site */
  readonly viaSync: boolean;
}

/**
 * Which records a topology change may concern, by their routing columns (indexed): those matching
 * every field given; `{}` is every record.
 */
export interface RecordSelector {
  /** records whose store, other party or home store is one of these */
  readonly storeIds?: readonly StoreId[];
  /** records of these patients */
  readonly patientIds?: readonly string[];
  /** records of these types */
  readonly types?: readonly string[];
}

/** Typed JSON records keyed by record type and id, with their routing columns. */
export interface RecordStore {
  get(type: string, id: string): Promise<SyncRecord | null>;
  /** The stored records of these keys (those that exist), in no particular order: one query, not one per key. */
  getMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]>;
  /**
   * The stored versions of these keys, as `getMany`, locked against other writers until the unit of
   * work ends, so that a read-decide-write (transfer processing) can check that what it decided on
   * is still there and cannot be overwritten before it commits. Postgres: `select ... for update`;
   * an engine with one writer at a time: a plain read.
   */
  lockMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]>;
  /** Inserts or replaces records, and appends one change per record to the change feed, atomically. */
  upsert(records: readonly SyncRecord[], origin: ChangeOrigin): Promise<void>;
  /**
   * Records of one type whose `field` in data equals `value`, or one of the values of a list (the
   * lines of one header, or of many in one query), in id order.
   */
  findByField(type: string, field: string, value: string | readonly string[]): Promise<readonly SyncRecord[]>;
  /** Records of one type, in id order, a page at a time (never a whole table at once). */
  list(type: string, options: { readonly afterId?: string; readonly limit: number }): Promise<readonly SyncRecord[]>;
  /**
   * The records `selector` names, without their data (`data` is `{}`), in (type, id) order as the
   * engine sorts them, a page at a time: pass the last record of a page as `after` for the next.
   */
  select(selector: RecordSelector, options: { readonly after?: Pick<SyncRecord, 'type' | 'id'>; readonly limit: number }): Promise<readonly SyncRecord[]>;
  /**
   * Deletes these records outright, with their place in the change feed: no change is made for
   * them (a site dropping records it may no longer hold; nothing is pushed or routed for it).
   */
  remove(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<void>;
  /**
   * Until the unit of work this is called in ends, no other unit of work writes records (they
   * wait): a topology change sees every record written before it, and every record written after it
   * is routed by the new topology. No-op where units of work already run one at a time.
   */
  holdWrites(): Promise<void>;
  /** The next serial number of a store for a record type (1, 2, ...): each call takes one. */
  nextSerialNumber(storeId: StoreId, type: string): Promise<number>;
  /** Makes sure later serial numbers of the store for the type come after `inUse` (a number found in use). */
  raiseSerialNumber(storeId: StoreId, type: string, inUse: number): Promise<void>;
}
