import type { SyncRecord } from '../record';
import type { Topology } from '../topology';
import type { SyncStorage } from '../ports/unit-of-work';
import { transferEditConflict, transferKindOf } from '../transfers/transfer-changes';
import { initiatingRefOf, TRANSFER_HALVES } from '../transfers/transfer-feedback';
import type { RespondingContext } from '../transfers/responding-half';
import {
  documentHeaderOf,
  HEADER_ID_FIELD,
  isTransferHeaderType,
  respondingId,
  str,
  TRANSFER_KINDS,
  TRANSFER_LINE_TYPES,
  type TransferDocument,
  type TransferHeaderType,
  type TransferKind,
} from '../transfers/transfer-documents';
import type { TransferViolation } from '../transfers/transfer-rules';

/** A header and every line of its own store that names it, tombstones included. */
export async function loadDocument(storage: SyncStorage, type: TransferHeaderType, id: string): Promise<TransferDocument | null> {
  const header = await storage.records.get(type, id);
  if (!header) return null;
  // Only lines of the header's own store belong to it (a line carries its header's store).
  const lines = (await storage.records.findByField(TRANSFER_LINE_TYPES[type], HEADER_ID_FIELD[type], id)).filter(
    (line) => (line.storeId ?? null) === (header.storeId ?? null),
  );
  return { header, lines };
}

/** What building the responding half of `header` needs from storage and the topology besides the document. */
export async function respondingContext(storage: SyncStorage, topology: Topology, kind: TransferKind, header: SyncRecord): Promise<RespondingContext> {
  const responding = header.otherPartyStoreId ? topology.store(header.otherPartyStoreId) : undefined;
  const respondingOnMobile = responding ? topology.site(responding.activeSiteId)?.deviceType === 'mobile' : false;
  if (kind !== 'stock-transfer') return { respondingOnMobile };
  // a customer invoice fulfilling a response requisition: the supplier invoice points at the requester's own requisition
  const responseId = str(header.data, 'requisitionId');
  const response = responseId ? await storage.records.get('requisition', responseId) : null;
  const requester = response && response.storeId === header.storeId ? str(response.data, 'linkedRequisitionId') : null;
  return { respondingOnMobile, requesterRequisitionId: requester };
}

/**
 * The initiating document a change belongs to, as `<type>:<id>` refs: the document of an
 * initiating header or line, or, for a record of a responding half, the initiating half it answers.
 */
export async function initiatingDocumentsOf(storage: SyncStorage, record: SyncRecord): Promise<{ type: TransferHeaderType; id: string }[]> {
  const ref = documentHeaderOf(record);
  if (!ref) return [];
  const refs = [ref];
  const header = ref.type === record.type && ref.id === record.id ? record : await storage.records.get(ref.type, ref.id);
  const answered = header ? initiatingRefOf(header) : null;
  if (answered) refs.push({ type: answered.type, id: answered.id });
  return refs;
}

/**
 * The transfer kind of an initiating header and its responding half stored here (tombstones
 * included). A header's tombstone without data is recognised by the responding half it has.
 */
export async function findTransfer(
  storage: SyncStorage,
  topology: Topology,
  header: SyncRecord,
): Promise<{ readonly kind: TransferKind; readonly existing: TransferDocument | null } | null> {
  const kind = transferKindOf(topology, header);
  if (kind !== null) return { kind, existing: await loadResponding(storage, kind, header) };
  if (header.deleted !== true) return null;
  for (const candidate of TRANSFER_KINDS) {
    if (TRANSFER_HALVES[candidate].initiating !== header.type) continue;
    const existing = await loadResponding(storage, candidate, header);
    if (existing && existing.header.storeId === header.otherPartyStoreId && existing.header.otherPartyStoreId === header.storeId)
      return { kind: candidate, existing };
  }
  return null;
}

/** The responding half stored for the initiating header `header` of kind `kind` (tombstones included), or null. */
export function loadResponding(storage: SyncStorage, kind: TransferKind, header: SyncRecord): Promise<TransferDocument | null> {
  return loadDocument(storage, TRANSFER_HALVES[kind].responding, respondingId(header.id, kind));
}

/**
 * On any site, before local changes are written: the changes of initiating halves that would alter
 * what their transfer copies while the responding store (whose half this site holds) has touched
 * it. The central refuses nothing it cannot see: a half it does not hold is checked when it is
 * processed.
 */
export async function transferEditRefusals(storage: SyncStorage, topology: Topology, records: readonly SyncRecord[]): Promise<TransferViolation[]> {
  const byDocument = new Map<string, { type: TransferHeaderType; id: string; records: SyncRecord[] }>();
  for (const record of records) {
    if (!record.otherPartyStoreId || !(isTransferHeaderType(record.type) || documentHeaderOf(record))) continue;
    const ref = documentHeaderOf(record);
    if (!ref) continue;
    const key = `${ref.type}:${ref.id}`;
    const entry = byDocument.get(key) ?? { ...ref, records: [] };
    entry.records.push(record);
    byDocument.set(key, entry);
  }
  const refusals: TransferViolation[] = [];
  for (const { type, id, records: changes } of byDocument.values()) {
    const before = await loadDocument(storage, type, id);
    if (!before) continue; // a new document has no responding half yet
    const kind = transferKindOf(topology, changes.find((r) => r.type === type && r.id === id) ?? before.header);
    if (kind === null) continue;
    const existing = await loadResponding(storage, kind, before.header);
    if (!existing) continue;
    const changed = new Map(changes.map((r) => [`${r.type}:${r.id}`, r]));
    const header = changed.get(`${type}:${id}`) ?? before.header;
    const lines = before.lines.map((l) => changed.get(`${l.type}:${l.id}`) ?? l);
    for (const r of changes) if (!(r.type === type && r.id === id) && !before.lines.some((l) => l.type === r.type && l.id === r.id)) lines.push(r);
    const after: TransferDocument = { header, lines };
    const context = await respondingContext(storage, topology, kind, header);
    const conflict = transferEditConflict(topology, before, after, existing, context);
    if (conflict) refusals.push(conflict);
  }
  return refusals;
}
