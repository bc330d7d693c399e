import type { StoreId } from './store';

/**
 * A synced record: its type (a record type of the catalogue), id, the routing columns the rules
 * read, and its data as JSON. The routing columns are kept apart from the data so that storage can
 * index them and the rules never have to understand the data of every record type.
 */
export interface SyncRecord {
  readonly type: string;
  readonly id: string;
  /** owning store: store data, central store data, the sending store of a message */
  readonly storeId?: StoreId | null;
  /** the other store of a transfer, the receiving store of a message */
  readonly otherPartyStoreId?: StoreId | null;
  /** patient data: the patient (or prescriber) the record belongs to */
  readonly patientId?: string | null;
  /** patient data: the patient's home store */
  readonly homeStoreId?: StoreId | null;
  /** a deletion travels like any other change */
  readonly deleted?: boolean;
  readonly data: Readonly<Record<string, unknown>>;
}

export function recordKey(record: Pick<SyncRecord, 'type' | 'id'>): string {
  return `${record.type}:${record.id}`;
}
