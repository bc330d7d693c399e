import type { SyncRecord } from '@sitesync/domain';
import type { RawRecordRow } from './storage-contract';

/**
 * A record's stored row as a probe returns it: a routing column written absent is null, `deleted`
 * absent is false (an adapter may return either form).
 */
export function rawRowOf(record: SyncRecord): RawRecordRow {
  return {
    storeId: record.storeId ?? null,
    otherPartyStoreId: record.otherPartyStoreId ?? null,
    patientId: record.patientId ?? null,
    homeStoreId: record.homeStoreId ?? null,
    deleted: record.deleted ?? false,
    data: record.data,
  };
}

/** A record as the contract compares it: its row in that one form, with its type and id (data typed as a record's). */
export function canonical(record: SyncRecord | null | undefined): (SyncRecord & RawRecordRow) | null {
  if (record === null || record === undefined) return null;
  return { type: record.type, id: record.id, ...rawRowOf(record), data: record.data };
}
