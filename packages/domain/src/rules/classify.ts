import { catalogueRow, isKnownRecordType, type CatalogueRow } from '../catalogue';
import type { SyncRecord } from '../record';
import { err, ok, type Result, type RuleViolation } from '../result';
import type { Store } from '../store';
import type { Topology } from '../topology';

export const RECORD_VIOLATION_CODES = [
  'record.unknown-type',
  'record.missing-store',
  'record.unknown-store',
  'record.missing-patient',
  'record.missing-home-store',
  'record.unknown-other-party-store',
] as const;
export type RecordViolationCode = (typeof RECORD_VIOLATION_CODES)[number];

export interface RecordViolation extends RuleViolation<RecordViolationCode> {
  readonly recordType: string;
  readonly recordId: string;
  readonly field?: string;
}

/** A record placed in the catalogue, with the stores its routing columns name. */
export interface ClassifiedRecord {
  readonly record: SyncRecord;
  readonly row: CatalogueRow;
  /** the owning store (store, central store data; sending store of a message) */
  readonly store: Store | null;
  /** the other party of a transfer; the receiving store of a message */
  readonly otherParty: Store | null;
  /** the patient's home store */
  readonly homeStore: Store | null;
}

/**
 * Finds the catalogue row of a record and checks it carries the routing columns its category needs.
 * A record that fails is refused with the field and what to put in it, never guessed at.
 */
export function classifyRecord(topology: Topology, record: SyncRecord): Result<ClassifiedRecord, RecordViolation> {
  const refuse = (code: RecordViolationCode, rule: string, message: string, fix: string, field?: string) =>
    err<RecordViolation>({
      code,
      rule,
      message: `${record.type} ${record.id}: ${message}`,
      fix,
      recordType: record.type,
      recordId: record.id,
      ...(field ? { field } : {}),
    });

  if (!isKnownRecordType(record.type)) {
    return refuse(
      'record.unknown-type',
      'every synced record has a type from the record catalogue',
      `record type "${record.type}" is not in the catalogue.`,
      'Use one of the catalogue record types (see docs/sync-rules.md), or add a row for the new type.',
      'type',
    );
  }
  const lookup = (id: string | null | undefined): Store | null | undefined => (id === null || id === undefined || id === '' ? null : topology.store(id));

  const store = lookup(record.storeId);
  if (store === undefined) {
    return refuse(
      'record.unknown-store',
      'routing columns name existing stores',
      `storeId "${String(record.storeId)}" is not a known store.`,
      'Put the id of an existing store in storeId.',
      'storeId',
    );
  }
  const otherParty = lookup(record.otherPartyStoreId);
  if (otherParty === undefined) {
    return refuse(
      'record.unknown-other-party-store',
      'routing columns name existing stores',
      `otherPartyStoreId "${String(record.otherPartyStoreId)}" is not a known store.`,
      'Put the id of an existing store in otherPartyStoreId, or leave it empty if the other party is not a store.',
      'otherPartyStoreId',
    );
  }
  const homeStore = lookup(record.homeStoreId);
  if (homeStore === undefined) {
    return refuse(
      'record.unknown-store',
      'routing columns name existing stores',
      `homeStoreId "${String(record.homeStoreId)}" is not a known store.`,
      "Put the id of the patient's home store in homeStoreId.",
      'homeStoreId',
    );
  }

  const row = catalogueRow(record.type, { centralised: store?.centralisedProcurement ?? false });
  if (!row) throw new Error(`invariant broken: no catalogue row for known type ${record.type}`);

  if ((row.category === 'store' || row.category === 'central-store') && !store) {
    return refuse(
      'record.missing-store',
      `${row.label} is ${row.category} data: it belongs to one store`,
      'storeId is empty.',
      'Put the id of the store the record belongs to in storeId.',
      'storeId',
    );
  }
  if (row.category === 'patient') {
    if (!record.patientId) {
      return refuse(
        'record.missing-patient',
        `${row.label} is patient data: it belongs to one patient`,
        'patientId is empty.',
        'Put the id of the patient (or prescriber) in patientId.',
        'patientId',
      );
    }
    if (!homeStore) {
      return refuse(
        'record.missing-home-store',
        "patient data is edited on the site where the patient's home store is active",
        'homeStoreId is empty.',
        "Put the patient's home store (the store they were created in, or of their latest prescription) in homeStoreId.",
        'homeStoreId',
      );
    }
  }
  return ok({ record, row, store, otherParty, homeStore });
}
