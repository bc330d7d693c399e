import type { SyncRecord } from '../record';
import type { Topology } from '../topology';
import type { SyncStorage } from '../ports/unit-of-work';
import type { RecordStore } from '../ports/record-store';
import { transferEditConflict, transferKindOf } from '../transfers/transfer-changes';
import { initiatingRefOf, TRANSFER_HALVES } from '../transfers/transfer-feedback';
import type { RespondingContext } from '../transfers/responding-half';
import {
  documentHeaderOf,
  HEADER_ID_FIELD,
  respondingId,
  str,
  TRANSFER_KINDS,
  TRANSFER_LINE_TYPES,
  type TransferDocument,
  type TransferHeaderType,
  type TransferKind,
} from '../transfers/transfer-documents';
import type { TransferViolation } from '../transfers/transfer-rules';

/** What transfer processing reads records with: the storage's record store, or a cache of it. */
export type RecordReader = Pick<RecordStore, 'get' | 'findByField'>;

/**
 * The records of a batch of transfers, read with a few bulk queries (`preload`, `preloadLines`)
 * and then served from memory; a read not preloaded goes to the store. It lives for one unit of
 * work: what is written meanwhile is not seen, so callers write only at the end.
 */
export class PreloadedRecords implements RecordReader {
  private readonly records = new Map<string, SyncRecord | null>();
  private readonly found = new Map<string, SyncRecord[]>();

  constructor(private readonly store: RecordReader & Pick<RecordStore, 'getMany'>) {}

  async preload(keys: Iterable<Pick<SyncRecord, 'type' | 'id'>>): Promise<void> {
    const missing = new Map<string, Pick<SyncRecord, 'type' | 'id'>>();
    for (const k of keys) if (!this.records.has(keyOf(k.type, k.id))) missing.set(keyOf(k.type, k.id), { type: k.type, id: k.id });
    if (missing.size === 0) return;
    for (const key of missing.keys()) this.records.set(key, null);
    for (const r of await this.store.getMany([...missing.values()])) this.records.set(keyOf(r.type, r.id), r);
  }

  /** The lines of these headers of `headerType`, in one query. */
  async preloadLines(headerType: TransferHeaderType, headerIds: Iterable<string>): Promise<void> {
    const type = TRANSFER_LINE_TYPES[headerType];
    const field = HEADER_ID_FIELD[headerType];
    const missing = [...new Set(headerIds)].filter((id) => !this.found.has(keyOf(type, field, id)));
    if (missing.length === 0) return;
    for (const id of missing) this.found.set(keyOf(type, field, id), []);
    for (const line of await this.store.findByField(type, field, missing)) this.found.get(keyOf(type, field, String(line.data[field])))?.push(line);
  }

  async get(type: string, id: string): Promise<SyncRecord | null> {
    const key = keyOf(type, id);
    if (!this.records.has(key)) this.records.set(key, await this.store.get(type, id));
    return this.records.get(key) ?? null;
  }

  async findByField(type: string, field: string, value: string | readonly string[]): Promise<readonly SyncRecord[]> {
    if (typeof value !== 'string') return this.store.findByField(type, field, value);
    const key = keyOf(type, field, value);
    if (!this.found.has(key)) this.found.set(key, [...(await this.store.findByField(type, field, value))]);
    return this.found.get(key)!;
  }
}

function keyOf(...parts: string[]): string {
  return parts.join('\u0000');
}

/** A header and every line of its own store that names it, tombstones included. */
export async function loadDocument(records: RecordReader, type: TransferHeaderType, id: string): Promise<TransferDocument | null> {
  const header = await records.get(type, id);
  if (!header) return null;
  // Only lines of the header's own store belong to it (a line carries its header's store).
  const lines = (await records.findByField(TRANSFER_LINE_TYPES[type], HEADER_ID_FIELD[type], id)).filter(
    (line) => (line.storeId ?? null) === (header.storeId ?? null),
  );
  return { header, lines };
}

/**
 * What building the responding half of `header` needs from storage and the topology besides the
 * document. Once a responding half exists, what it was made with stays (its requisition kind, its
 * link to the requester's requisition): a later move of the store between a mobile and a desktop
 * site, or a change of the response requisition, does not remake transfers already made.
 */
export async function respondingContext(
  records: RecordReader,
  topology: Topology,
  kind: TransferKind,
  header: SyncRecord,
  existing: TransferDocument | null = null,
): Promise<RespondingContext> {
  const made = existing && existing.header.deleted !== true ? existing.header.data : null;
  const responding = header.otherPartyStoreId ? topology.store(header.otherPartyStoreId) : undefined;
  const respondingOnMobile =
    made && kind === 'mobile-requisition' ? made['kind'] === 'customer' : responding ? topology.site(responding.activeSiteId)?.deviceType === 'mobile' : false;
  if (kind !== 'stock-transfer') return { respondingOnMobile };
  if (made && 'requisitionId' in made) return { respondingOnMobile, requesterRequisitionId: str(made, 'requisitionId') };
  // a customer invoice fulfilling a response requisition: the supplier invoice points at the requester's own requisition
  const responseId = str(header.data, 'requisitionId');
  const response = responseId ? await records.get('requisition', responseId) : null;
  const requester = response && response.storeId === header.storeId ? str(response.data, 'linkedRequisitionId') : null;
  return { respondingOnMobile, requesterRequisitionId: requester };
}

/**
 * The initiating document a change belongs to, as `<type>:<id>` refs: the document of an
 * initiating header or line, or, for a record of a responding half, the initiating half it answers.
 */
export async function initiatingDocumentsOf(
  records: RecordReader,
  record: SyncRecord,
  options: { readonly answered: boolean },
): Promise<{ type: TransferHeaderType; id: string }[]> {
  const ref = documentHeaderOf(record);
  if (!ref) return [];
  const refs = [ref];
  if (!options.answered) return refs;
  const header = ref.type === record.type && ref.id === record.id ? record : await records.get(ref.type, ref.id);
  const answered = header ? initiatingRefOf(header) : null;
  if (answered) refs.push({ type: answered.type, id: answered.id });
  return refs;
}

/**
 * The transfer kind of an initiating header and its responding half stored here (tombstones
 * included). A header's tombstone without data is recognised by the responding half it has.
 */
export async function findTransfer(
  records: RecordReader,
  topology: Topology,
  header: SyncRecord,
): Promise<{ readonly kind: TransferKind; readonly existing: TransferDocument | null } | null> {
  const kind = transferKindOf(topology, header);
  if (kind !== null) return { kind, existing: await loadResponding(records, kind, header) };
  if (header.deleted !== true) return null;
  for (const candidate of TRANSFER_KINDS) {
    if (TRANSFER_HALVES[candidate].initiating !== header.type) continue;
    const existing = await loadResponding(records, candidate, header);
    if (existing && existing.header.storeId === header.otherPartyStoreId && existing.header.otherPartyStoreId === header.storeId)
      return { kind: candidate, existing };
  }
  return null;
}

/** The responding half stored for the initiating header `header` of kind `kind` (tombstones included), or null. */
export function loadResponding(records: RecordReader, kind: TransferKind, header: SyncRecord): Promise<TransferDocument | null> {
  return loadDocument(records, TRANSFER_HALVES[kind].responding, respondingId(header.id, kind));
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
    const ref = record.otherPartyStoreId ? documentHeaderOf(record) : null;
    if (!ref) continue;
    const key = `${ref.type}:${ref.id}`;
    const entry = byDocument.get(key) ?? { ...ref, records: [] };
    entry.records.push(record);
    byDocument.set(key, entry);
  }
  const refusals: TransferViolation[] = [];
  for (const { type, id, records: changes } of byDocument.values()) {
    const before = await loadDocument(storage.records, type, id);
    if (!before) continue; // a new document has no responding half yet
    // the stored header says what the document is (a tombstone of it may carry no data)
    const changedHeader = changes.find((r) => r.type === type && r.id === id);
    const kind = transferKindOf(topology, changedHeader && changedHeader.deleted !== true ? changedHeader : before.header);
    if (kind === null) continue;
    const existing = await loadResponding(storage.records, kind, before.header);
    if (!existing) continue;
    const changed = new Map(changes.map((r) => [`${r.type}:${r.id}`, r]));
    const header = changed.get(`${type}:${id}`) ?? before.header;
    const lines = before.lines.map((l) => changed.get(`${l.type}:${l.id}`) ?? l);
    for (const r of changes) if (!(r.type === type && r.id === id) && !before.lines.some((l) => l.type === r.type && l.id === r.id)) lines.push(r);
    const after: TransferDocument = { header, lines };
    const context = await respondingContext(storage.records, topology, kind, header, existing);
    const conflict = transferEditConflict(topology, after, existing, context);
    if (conflict) refusals.push(conflict);
  }
  return refusals;
}
