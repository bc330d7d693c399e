import type { SyncRecord } from '../record';
import type { SiteId } from '../site';
import type { StoreId } from '../store';
import type { Topology } from '../topology';
import type { RoutingContext } from './routing-rules';

/** Record types whose creation makes a name visible in the other dispensary stores of its home site. */
export const NEW_PATIENT_TYPES = ['patient', 'prescriber'] as const;

/**
 * Seed 002 "Patients": a newly created patient (or prescriber) is also made visible in the other
 * dispensary stores active on its home site. The visibility records are `new_patient_visibility`
 * (patient data of the home site, sent to the central, which routes the patient by them).
 */
export function visibilityOfNewPatient(topology: Topology, siteId: SiteId, patient: SyncRecord): SyncRecord[] {
  if (!(NEW_PATIENT_TYPES as readonly string[]).includes(patient.type) || patient.deleted === true || !patient.patientId || !patient.homeStoreId) return [];
  const { patientId, homeStoreId } = patient;
  return topology
    .storesActiveOn(siteId)
    .filter((store) => store.isDispensary && store.id !== homeStoreId)
    .map((store) => ({
      type: 'new_patient_visibility',
      id: `npv-${patientId}-${store.id}`,
      storeId: store.id,
      patientId,
      homeStoreId,
      data: { patientId, storeId: store.id, reason: 'new patient, visible in the dispensary stores of its home site' },
    }));
}

/** Record types whose `data.prescriberId` says a prescriber prescribed in the record's store. */
export const PRESCRIBING_TYPES = ['prescription', 'transaction'] as const;

/**
 * Seed 002: prescribers are "shared with dispensary stores on other sites where they've previously
 * prescribed". For each prescription (or transaction) naming a prescriber in a store where the
 * prescriber is not visible yet, the visibility record the central writes (`patient_visibility`,
 * central store data of that store): the prescriber's records then go to that store's site.
 */
export function visibilityOfPrescribers(records: readonly SyncRecord[], visible: RoutingContext): SyncRecord[] {
  const made = new Map<string, SyncRecord>();
  for (const r of records) {
    const prescriberId = r.data['prescriberId'];
    if (
      !(PRESCRIBING_TYPES as readonly string[]).includes(r.type) ||
      r.deleted === true ||
      !r.storeId ||
      typeof prescriberId !== 'string' ||
      prescriberId === ''
    )
      continue;
    const storeId: StoreId = r.storeId;
    if ((visible.patientVisibleIn?.(prescriberId) ?? []).includes(storeId)) continue;
    const id = `prescribed-${prescriberId}-${storeId}`;
    made.set(id, { type: 'patient_visibility', id, storeId, patientId: prescriberId, data: { prescriberId, storeId, reason: 'prescribed in this store' } });
  }
  return [...made.values()];
}

/** Prescribers named by these records. */
export function prescribersOf(records: readonly SyncRecord[]): string[] {
  return [
    ...new Set(
      records.flatMap((r) => {
        const p = r.data['prescriberId'];
        return (PRESCRIBING_TYPES as readonly string[]).includes(r.type) && typeof p === 'string' && p !== '' ? [p] : [];
      }),
    ),
  ];
}
