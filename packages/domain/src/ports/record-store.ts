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

/** Typed JSON records keyed by record type and id, with their routing columns. */
export interface RecordStore {
  get(type: string, id: string): Promise<SyncRecord | null>;
  /** The stored records of these keys (those that exist), in no particular order: one query, not one per key. */
  getMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]>;
  /** Inserts or replaces records, and appends one change per record to the change feed, atomically. */
  upsert(records: readonly SyncRecord[], origin: ChangeOrigin): Promise<void>;
  /** Records of one type whose `field` in data equals `value` (lines of a header), in id order. */
  findByField(type: string, field: string, value: string): Promise<readonly SyncRecord[]>;
  /** Records of one type, in id order, a page at a time (never a whole table at once). */
  list(type: string, options: { readonly afterId?: string; readonly limit: number }): Promise<readonly SyncRecord[]>;
  /** The next serial number of a store for a record type (1, 2, ...): each call takes one. */
  nextSerialNumber(storeId: StoreId, type: string): Promise<number>;
}
