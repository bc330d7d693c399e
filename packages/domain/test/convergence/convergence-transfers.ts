import {
  findTransfer,
  loadDocument,
  recordKey,
  recordLocalChange,
  runSiteProcessors,
  touchedRecords,
  TRANSFER_CONFLICT_PREFIX,
  TRANSFER_HALVES,
  TRANSFER_KINDS,
  transferProcessingSite,
  respondingId,
  type Clock,
  type SiteId,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type TransferHeaderType,
  type UnitOfWork,
} from '@sitesync/domain';
import fc from 'fast-check';

type Storage = UnitOfWork & { readonly storage: SyncStorage };

/** What happens to a transfer after it was entered: its sender changes or deletes it, or its receiver finalises its half. */
export const TRANSFER_CHANGES = ['quantity', 'add-line', 'delete-line', 'delete-document', 'receive'] as const;
export type TransferChange = (typeof TRANSFER_CHANGES)[number];

export const transferChangeArb = fc.record({
  op: fc.constant('retransfer' as const),
  pick: fc.nat(30),
  change: fc.constantFrom(...TRANSFER_CHANGES),
});
export type TransferChangeStep = { readonly op: 'retransfer'; readonly pick: number; readonly change: TransferChange };

/** Refusals a site may answer a transfer change with: B touched its half, or this site does not (yet) own the record. */
const EXPECTED_REFUSALS = /^(transfer\.responding-half-touched|push\.owner-changed|edit\.)/;

/**
 * Applies `step` to one of the transfers entered so far (`transfers`: initiating header keys), on
 * the site that may make it (the initiating store's site, or for `receive` the responding store's),
 * as its app would: through recordLocalChange, then that site's processors.
 */
export async function changeTransfer(
  step: TransferChangeStep,
  transfers: readonly { readonly type: TransferHeaderType; readonly id: string }[],
  topology: Topology,
  storageOf: (siteId: SiteId) => Storage,
  clock: Clock,
  version: number,
): Promise<void> {
  const ref = transfers[step.pick % Math.max(1, transfers.length)];
  if (!ref) return;
  const central = storageOf(1);
  const header = await central.storage.records.get(ref.type, ref.id);
  if (!header?.storeId || !header.otherPartyStoreId) return;
  const from = topology.store(header.storeId);
  const to = topology.store(header.otherPartyStoreId);
  if (!from || !to) return;

  let siteId: SiteId;
  let records: SyncRecord[];
  if (step.change === 'receive') {
    siteId = to.activeSiteId;
    const local = storageOf(siteId);
    const halves = TRANSFER_KINDS.filter((k) => TRANSFER_HALVES[k].initiating === ref.type).map((k) => ({
      type: TRANSFER_HALVES[k].responding,
      id: respondingId(ref.id, k),
    }));
    const found = (await local.storage.records.getMany(halves)).find((r) => r.deleted !== true && r.storeId === to.id);
    if (!found) return;
    records = [{ ...found, data: { ...found.data, status: 'finalised', onHold: false, v: version } }];
  } else {
    siteId = from.activeSiteId;
    const doc = await loadDocument(storageOf(siteId).storage.records, ref.type, ref.id);
    if (!doc || doc.header.deleted === true) return;
    const live = doc.lines.filter((l) => l.deleted !== true);
    const tombstone = (r: SyncRecord, link: Record<string, unknown>): SyncRecord => ({ ...r, deleted: true, data: link });
    const headerField = Object.keys(live[0]?.data ?? {}).find((k) => live[0]!.data[k] === ref.id) ?? 'transactionId';
    switch (step.change) {
      case 'quantity':
        if (!live[0]) return;
        records = [{ ...live[0], data: { ...live[0].data, quantity: version, requestedQuantity: version } }];
        break;
      case 'add-line':
        if (!live[0]) return;
        records = [
          { ...doc.header, data: { ...doc.header.data, lineCount: live.length + 1 } },
          { ...live[0], id: `${ref.id}-added-${version}`, data: { ...live[0].data, itemId: `added-${version}` } },
        ];
        break;
      case 'delete-line':
        if (!live[0]) return;
        records = [{ ...doc.header, data: { ...doc.header.data, lineCount: live.length - 1 } }, tombstone(live[0], { [headerField]: ref.id })];
        break;
      case 'delete-document':
        records = [tombstone(doc.header, {}), ...live.map((l) => tombstone(l, { [headerField]: ref.id }))];
        break;
    }
  }
  const storage = storageOf(siteId);
  const local = siteId === 1 ? topology : await storage.storage.topology.load();
  if (!local) return;
  const result = await recordLocalChange({ unitOfWork: storage }, local, siteId, records);
  if (!result.ok) {
    const unexpected = result.error.filter((v) => !EXPECTED_REFUSALS.test(v.code));
    if (unexpected.length > 0) throw new Error(`a transfer change (${step.change}) was refused: ${JSON.stringify(unexpected)}`);
    return;
  }
  await runSiteProcessors({ unitOfWork: storage, clock }, local, siteId);
}

/**
 * The oracle for transfers the central completes: a responding half its store has not touched
 * holds exactly the live lines (and quantities) of its initiating half, and is deleted when that is;
 * a touched one that no longer matches has an open conflict issue or was left as it was.
 */
export async function checkTransferHalves(central: Storage, topology: Topology, onCentral: ReadonlyMap<string, SyncRecord>): Promise<void> {
  const conflicts = new Set((await central.storage.issues.open({ prefix: TRANSFER_CONFLICT_PREFIX, limit: 100_000 })).map((i) => i.key));
  for (const header of onCentral.values()) {
    if (!(header.type in { transaction: 1, requisition: 1, purchase_order: 1 }) || !header.storeId || !header.otherPartyStoreId) continue;
    const own = topology.store(header.storeId);
    const other = topology.store(header.otherPartyStoreId);
    if (!own || !other || transferProcessingSite(topology, own, other).site.id !== 1) continue;
    const found = await findTransfer(central.storage.records, topology, header);
    const existing = found?.existing;
    if (!existing || existing.header.storeId !== other.id) continue;
    const doc = (await loadDocument(central.storage.records, header.type as TransferHeaderType, header.id))!;
    if (touchedRecords(existing).length > 0) continue; // B's own document now: A's later changes are refused or reported
    const key = recordKey(header);
    const quantities = (lines: readonly SyncRecord[], id: (l: SyncRecord) => unknown) =>
      JSON.stringify(
        lines
          .filter((l) => l.deleted !== true)
          .map((l) => [id(l), l.data['quantity'] ?? l.data['requestedQuantity'] ?? null])
          .sort(),
      );
    if (header.deleted === true) {
      if (existing.header.deleted !== true) throw new Error(`transfer ${key} was deleted, its untouched responding half ${existing.header.id} was not`);
      continue;
    }
    if (existing.header.deleted === true) continue;
    const sent = quantities(doc.lines, (l) => l.id);
    const received = quantities(existing.lines, (l) => l.data['linkedLineId']);
    if (sent !== received && !conflicts.has(TRANSFER_CONFLICT_PREFIX + key)) {
      throw new Error(`transfer ${key}: the untouched responding half ${existing.header.id} holds ${received}, its initiating half ${sent}`);
    }
  }
}
