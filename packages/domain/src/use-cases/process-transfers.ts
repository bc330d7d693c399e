import { canonicalJson, recordKey, type SyncRecord } from '../record';
import type { RuleViolation } from '../result';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import type { SyncIssue } from '../ports/issue-log';
import type { Change } from '../ports/change-feed';
import { isTransferHeaderType, respondingId, str, TRANSFER_KINDS, TRANSFER_LINE_TYPES, type TransferHeaderType } from '../transfers/transfer-documents';
import { consumeChanges } from './consume-changes';
import { detectTransfer, processingSiteOf, type TransferViolation } from '../transfers/transfer-rules';
import { processInitiatingHalf } from '../transfers/transfer-changes';
import { findTransfer, initiatingDocumentsOf, loadDocument, PreloadedRecords, respondingContext, type RecordReader } from './transfer-state';
import { TRANSFER_HALVES } from '../transfers/transfer-feedback';

/** The change-feed consumer name transfer processing keeps its cursor under. */
export const TRANSFER_PROCESSOR = 'transfer-processor';

/** Issues of transfers whose halves disagree are kept under this prefix + the initiating record's key. */
export const TRANSFER_CONFLICT_PREFIX = 'transfer-conflict:';

export interface TransferReport {
  readonly created: readonly string[];
  /** initiating halves whose changes were carried to their untouched responding half */
  readonly updated: readonly string[];
  /** initiating halves deleted, with their untouched responding half */
  readonly deleted: readonly string[];
  readonly alreadyProcessed: readonly string[];
  /** initiating halves waiting for a status or for their lines */
  readonly pending: readonly { readonly key: string; readonly reason: string }[];
  /** transfers that could not be completed: also kept in the issue log until they can be */
  readonly refused: readonly { readonly key: string; readonly violation: RuleViolation }[];
  /** initiating halves changed after their responding store touched its half: kept as issues and messages to both stores */
  readonly conflicts: readonly { readonly key: string; readonly violation: RuleViolation }[];
  /** transfers whose records another writer changed while they were decided: nothing written, decided again from the feed */
  readonly raced: readonly string[];
}

type MutableReport = { -readonly [K in keyof TransferReport]: TransferReport[K] extends readonly (infer T)[] ? T[] : never };

export function emptyTransferReport(): MutableReport {
  return { created: [], updated: [], deleted: [], alreadyProcessed: [], pending: [], refused: [], conflicts: [], raced: [] };
}

/**
 * Completes the transfers this site is responsible for (the central for stores on different
 * sites; a site for its own stores), reading the change feed from its own cursor: initiating halves
 * created, changed or deleted, and responding halves changed (which may settle or reveal a
 * conflict). Each batch of changes is processed and the cursor advanced in one unit of work, so a
 * crash repeats a batch (which writes nothing new) and never skips one.
 */
export async function processTransfers(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
  options: { readonly batchSize?: number } = {},
): Promise<TransferReport> {
  const report = emptyTransferReport();
  const batchSize = options.batchSize ?? 2_000;
  // Transfers refused earlier (kept in the issue log) are tried again first: once the
  // configuration is fixed they complete without waiting for another change to the record.
  await deps.unitOfWork.run(async (storage) => {
    const open = await openTransferIssues(storage);
    const refs: { type: TransferHeaderType; id: string }[] = [];
    for (const issue of open) {
      if (!issue.violation.code.startsWith('transfer.') || issue.key.startsWith(TRANSFER_CONFLICT_PREFIX)) continue;
      const [type, ...rest] = issue.key.split(':');
      if (type && isTransferHeaderType(type)) refs.push({ type, id: rest.join(':') });
    }
    await processBatch(storage, topology, siteId, refs, deps.clock.now(), report, new Set(open.map((i) => i.key)));
  });
  // Scanned without data: only records between two stores can be transfers, and only those are read.
  await consumeChanges(deps.unitOfWork, TRANSFER_PROCESSOR, batchSize, async (storage, changes) => {
    const records = new PreloadedRecords(storage.records);
    const candidates = changes.filter(
      (change) => change.record.otherPartyStoreId && isTransferRecordType(change.record.type) && !ownOutput(topology, siteId, change),
    );
    if (candidates.length === 0) return;
    await records.preload(candidates.map(({ record }) => record));
    const headers = new Map<string, { type: TransferHeaderType; id: string }>();
    for (const { record, sourceSiteId, viaSync } of candidates) {
      const full = await records.get(record.type, record.id);
      // a responding half changed by another site (its store's site, a push) is checked against its initiating half;
      // what this site's processors wrote themselves is not
      const answered = viaSync || sourceSiteId !== siteId;
      for (const ref of full ? await initiatingDocumentsOf(records, full, { answered }) : []) headers.set(`${ref.type}:${ref.id}`, ref);
    }
    if (headers.size === 0) return;
    const openKeys = new Set((await openTransferIssues(storage)).map((i) => i.key));
    await processBatch(storage, topology, siteId, [...headers.values()], deps.clock.now(), report, openKeys, records);
  });
  return report;
}

/**
 * Processes these initiating headers in one unit of work: their documents and responding halves are
 * read with a few bulk queries, each transfer is decided on its own, and what they write is written
 * at once.
 */
async function processBatch(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  refs: readonly { type: TransferHeaderType; id: string }[],
  now: Date,
  report: MutableReport,
  openKeys: ReadonlySet<string>,
  records: PreloadedRecords = new PreloadedRecords(storage.records),
): Promise<void> {
  if (refs.length === 0) return;
  await records.preload(refs);
  const byType = new Map<TransferHeaderType, string[]>();
  const add = (type: TransferHeaderType, id: string) => byType.set(type, [...(byType.get(type) ?? []), id]);
  const responding: { type: string; id: string }[] = [];
  const requisitions: { type: string; id: string }[] = [];
  for (const ref of refs) {
    add(ref.type, ref.id);
    const header = await records.get(ref.type, ref.id);
    if (!header) continue;
    for (const kind of TRANSFER_KINDS) {
      if (TRANSFER_HALVES[kind].initiating !== ref.type) continue;
      responding.push({ type: TRANSFER_HALVES[kind].responding, id: respondingId(ref.id, kind) });
      add(TRANSFER_HALVES[kind].responding, respondingId(ref.id, kind));
    }
    const requisitionId = str(header.data, 'requisitionId');
    if (requisitionId) requisitions.push({ type: 'requisition', id: requisitionId });
  }
  await records.preload([...responding, ...requisitions]);
  for (const [type, ids] of byType) await records.preloadLines(type, ids);

  const planned: Planned[] = [];
  for (const ref of refs) await processOne(storage, records, topology, siteId, ref, now, report, openKeys, planned);
  if (planned.length === 0) return;

  // What each transfer decided on must still be there when it writes: a responding store's site may
  // have pushed (finalised, edited) in between. The rows are locked, compared with the versions read,
  // and a transfer whose records moved writes nothing now: the change that moved them is in the feed
  // after this batch and brings the transfer back, decided on what is there then.
  const keys = planned.flatMap((p) => [...p.basis, ...p.absent]);
  const now_ = new Map((await storage.records.lockMany(keys)).map((r) => [recordKey(r), sameVersion(r)]));
  const writes: SyncRecord[] = [];
  for (const p of planned) {
    const unchanged = p.basis.every((r) => now_.get(recordKey(r)) === sameVersion(r)) && p.absent.every((k) => !now_.has(recordKey(k)));
    if (!unchanged) {
      report.raced.push(p.key);
      continue;
    }
    writes.push(...p.writes);
    if (p.kind !== 'conflict') report[p.kind].push(p.key);
  }
  if (writes.length > 0) await storage.records.upsert(writes, { sourceSiteId: siteId, viaSync: false });
}

/** What one transfer will write, once its basis is checked. */
interface Planned {
  readonly key: string;
  readonly kind: 'created' | 'updated' | 'deleted' | 'conflict';
  readonly writes: readonly SyncRecord[];
  /** the responding half it was decided on, as read (written or not): none of it may have moved */
  readonly basis: readonly SyncRecord[];
  /** the responding header it creates: it must still not exist */
  readonly absent: readonly Pick<SyncRecord, 'type' | 'id'>[];
}

/** A record's stored content as one comparable string (JSON with sorted keys: jsonb keeps its own order), or '' for none. */
function sameVersion(record: SyncRecord | null | undefined): string {
  return record ? canonicalJson([record.deleted === true, record.storeId ?? null, record.otherPartyStoreId ?? null, record.data]) : '';
}

/** The responding id suffixes of each record type a transfer writes (`.si`, `.ci` for transactions and their lines...). */
const RESPONDING_SUFFIXES: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, string[]>();
  for (const kind of TRANSFER_KINDS) {
    const type = TRANSFER_HALVES[kind].responding;
    for (const t of [type, TRANSFER_LINE_TYPES[type]]) map.set(t, [...(map.get(t) ?? []), respondingId('', kind)]);
  }
  return map;
})();

/**
 * A record this site's own processors wrote: a responding record (derived id) of a store active
 * elsewhere, written here and not through sync. No user of this site can write store data of a store
 * active elsewhere, so nothing else matches; it starts nothing and is not read again (half the
 * records a processing run would otherwise read back are its own output).
 */
function ownOutput(topology: Topology, siteId: SiteId, change: Change): boolean {
  const { record } = change;
  if (change.viaSync || change.sourceSiteId !== siteId || !record.storeId) return false;
  const store = topology.store(record.storeId);
  if (!store || store.activeSiteId === siteId) return false;
  return (RESPONDING_SUFFIXES.get(record.type) ?? []).some((suffix) => record.id.endsWith(suffix) && record.id.length > suffix.length);
}

const LINE_TYPES: ReadonlySet<string> = new Set(Object.values(TRANSFER_LINE_TYPES));
function isTransferRecordType(type: string): boolean {
  return isTransferHeaderType(type) || LINE_TYPES.has(type);
}

/** The open issues of transfer headers (keyed `<header type>:<id>`, or with the conflict prefix), not the whole issue log. */
async function openTransferIssues(storage: SyncStorage): Promise<readonly SyncIssue[]> {
  const all: SyncIssue[] = [...(await storage.issues.open({ prefix: TRANSFER_CONFLICT_PREFIX }))];
  for (const type of Object.keys(TRANSFER_LINE_TYPES)) all.push(...(await storage.issues.open({ prefix: `${type}:` })));
  return all;
}

/** Who processes the transfer `header` starts (deleted or not): only that site touches its responding half. */
function processedHere(topology: Topology, siteId: SiteId, header: SyncRecord): boolean {
  if (header.deleted !== true && detectTransfer(topology, header).kind === 'pending') return true; // reported as pending wherever it is looked at
  const site = processingSiteOf(topology, header);
  return site ? site.id === siteId : header.deleted !== true; // an unknown store is refused (and reported) where it is looked at
}

async function processOne(
  storage: SyncStorage,
  records: PreloadedRecords,
  topology: Topology,
  siteId: SiteId,
  ref: { type: TransferHeaderType; id: string },
  now: Date,
  report: MutableReport,
  /** the issue keys open when the batch started: only those need resolving */
  openKeys: ReadonlySet<string>,
  /** what the batch writes at its end, per transfer */
  planned: Planned[],
): Promise<void> {
  const doc = await loadDocument(records, ref.type, ref.id);
  if (!doc) return;
  const key = recordKey(doc.header);
  if (!processedHere(topology, siteId, doc.header)) return; // another site completes it
  const found = await findTransfer(records, topology, doc.header);
  if (!found) return;
  const { kind, existing } = found;
  const context = await respondingContext(records, topology, kind, doc.header, existing);
  const outcome = processInitiatingHalf(topology, siteId, doc, existing, context);
  if (!outcome.ok) {
    await storage.issues.report(key, outcome.error, now);
    report.refused.push({ key, violation: outcome.error });
    return;
  }
  if (openKeys.has(key)) await storage.issues.resolve(key);
  const result = outcome.value;
  const conflictKey = TRANSFER_CONFLICT_PREFIX + key;
  if (result.kind !== 'conflict' && result.kind !== 'not-a-transfer' && result.kind !== 'pending' && openKeys.has(conflictKey)) {
    await storage.issues.resolve(conflictKey); // the halves agree again
  }
  switch (result.kind) {
    case 'not-a-transfer':
      return;
    case 'pending':
      report.pending.push({ key, reason: result.reason });
      return;
    case 'already-processed':
      report.alreadyProcessed.push(key);
      return;
    case 'conflict':
      await storage.issues.report(conflictKey, result.violation, now);
      planned.push({
        key,
        kind: 'conflict',
        writes: await conflictMessages(records, doc.header, result.respondingHeaderId, result.violation),
        basis: [],
        absent: [],
      });
      report.conflicts.push({ key, violation: result.violation });
      return;
    case 'created':
    case 'updated':
    case 'deleted':
      planned.push({
        key,
        kind: result.kind,
        writes: result.writes,
        basis: existing ? [existing.header, ...existing.lines] : [],
        absent: existing ? [] : [{ type: result.writes[0]?.type ?? doc.header.type, id: result.respondingHeaderId }],
      });
      return;
  }
}

/**
 * A conflict is shown on both sides: a `message` to the initiating store and one to the responding
 * store (no sending store: the processing site writes it, the normal routing delivers it), written
 * again only when its text changes.
 */
async function conflictMessages(records: RecordReader, initiating: SyncRecord, respondingId: string, violation: TransferViolation): Promise<SyncRecord[]> {
  const messages: SyncRecord[] = [];
  for (const [id, to] of [
    [`${initiating.id}.conflict`, initiating.storeId],
    [`${respondingId}.conflict`, initiating.otherPartyStoreId],
  ] as const) {
    const data = {
      subject: 'transfer-conflict',
      initiatingRecordType: initiating.type,
      initiatingRecordId: initiating.id,
      respondingRecordId: respondingId,
      code: violation.code,
      text: violation.message,
      fix: violation.fix,
    };
    const stored = await records.get('message', id);
    if (stored && stored.deleted !== true && stored.data['text'] === data.text) continue;
    messages.push({ type: 'message', id, storeId: null, otherPartyStoreId: to ?? null, data });
  }
  return messages;
}
