import type { SyncRecord } from '@sitesync/domain';

/**
 * A record as the contract compares it. A routing column written absent and one written null are the
 * same, and so are `deleted` absent and false: an adapter may return either form, so both sides of a
 * comparison are put in this one (absent: null; deleted: false).
 */
export function canonical(record: SyncRecord | null | undefined): SyncRecord | null {
  if (record === null || record === undefined) return null;
  return {
    type: record.type,
    id: record.id,
    storeId: record.storeId ?? null,
    otherPartyStoreId: record.otherPartyStoreId ?? null,
    patientId: record.patientId ?? null,
    homeStoreId: record.homeStoreId ?? null,
    deleted: record.deleted ?? false,
    data: record.data,
  };
}
