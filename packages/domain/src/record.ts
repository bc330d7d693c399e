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

/**
 * JSON with the keys of every object sorted, at any depth: the same text for the same value whatever
 * order an engine returns its keys in (SQLite keeps the written order, Postgres' jsonb its own).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function recordKey(record: Pick<SyncRecord, 'type' | 'id'>): string {
  return `${record.type}:${record.id}`;
}
