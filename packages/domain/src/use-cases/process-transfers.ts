import { recordKey, type SyncRecord } from '../record';
import type { RuleViolation } from '../result';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import type { SyncIssue } from '../ports/issue-log';
import { isTransferHeaderType, TRANSFER_LINE_TYPES, type TransferHeaderType } from '../transfers/transfer-documents';
import { consumeChanges } from './consume-changes';
import { detectTransfer, transferProcessingSite, type TransferViolation } from '../transfers/transfer-rules';
import { processInitiatingHalf } from '../transfers/transfer-changes';
import { findTransfer, initiatingDocumentsOf, loadDocument, respondingContext } from './transfer-state';

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
}

type MutableReport = { -readonly [K in keyof TransferReport]: TransferReport[K] extends readonly (infer T)[] ? T[] : never };

export function emptyTransferReport(): MutableReport {
  return { created: [], updated: [], deleted: [], alreadyProcessed: [], pending: [], refused: [], conflicts: [] };
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
    const openKeys = new Set(open.map((i) => i.key));
    for (const issue of open) {
      if (!issue.violation.code.startsWith('transfer.') || issue.key.startsWith(TRANSFER_CONFLICT_PREFIX)) continue;
      const [type, ...rest] = issue.key.split(':');
      if (type && isTransferHeaderType(type)) await processOne(storage, topology, siteId, { type, id: rest.join(':') }, deps.clock.now(), report, openKeys);
    }
  });
  // Scanned without data: only records between two stores can be transfers, and only those are read.
  await consumeChanges(deps.unitOfWork, TRANSFER_PROCESSOR, batchSize, async (storage, changes) => {
    const headers = new Map<string, { type: TransferHeaderType; id: string }>();
    for (const { record } of changes) {
      if (!record.otherPartyStoreId || !isTransferRecordType(record.type)) continue;
      const full = isTransferHeaderType(record.type) && record.deleted === true ? record : await storage.records.get(record.type, record.id);
      for (const ref of full ? await initiatingDocumentsOf(storage, full) : []) headers.set(`${ref.type}:${ref.id}`, ref);
    }
    const openKeys = headers.size > 0 ? new Set((await openTransferIssues(storage)).map((i) => i.key)) : new Set<string>();
    for (const ref of headers.values()) {
      await processOne(storage, topology, siteId, ref, deps.clock.now(), report, openKeys);
    }
  });
  return report;
}

const LINE_TYPES: ReadonlySet<string> = new Set(Object.values(TRANSFER_LINE_TYPES));
function isTransferRecordType(type: string): boolean {
  return isTransferHeaderType(type) || LINE_TYPES.has(type);
}

/** The open issues of transfer headers (keyed `<header type>:<id>`, or with the conflict prefix), not the whole issue log. */
async function openTransferIssues(storage: SyncStorage): Promise<readonly SyncIssue[]> {
  const all: SyncIssue[] = [];
  for (const prefix of ['', TRANSFER_CONFLICT_PREFIX]) {
    for (const type of Object.keys(TRANSFER_LINE_TYPES)) all.push(...(await storage.issues.open({ prefix: `${prefix}${type}:` })));
  }
  return all;
}

/** Who processes the transfer `header` starts (deleted or not): only that site touches its responding half. */
function processedHere(topology: Topology, siteId: SiteId, header: SyncRecord): boolean {
  if (header.deleted !== true && detectTransfer(topology, header).kind === 'pending') return true; // reported as pending wherever it is looked at
  const own = header.storeId ? topology.store(header.storeId) : undefined;
  const other = header.otherPartyStoreId ? topology.store(header.otherPartyStoreId) : undefined;
  if (!own || !other) return header.deleted !== true; // an unknown store is refused (and reported) where it is looked at
  return transferProcessingSite(topology, own, other).site.id === siteId;
}

async function processOne(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  ref: { type: TransferHeaderType; id: string },
  now: Date,
  report: MutableReport,
  /** the issue keys open when the batch started: only those need resolving */
  openKeys: ReadonlySet<string>,
): Promise<void> {
  const doc = await loadDocument(storage, ref.type, ref.id);
  if (!doc) return;
  const key = recordKey(doc.header);
  if (!processedHere(topology, siteId, doc.header)) return; // another site completes it
  const found = await findTransfer(storage, topology, doc.header);
  if (!found) return;
  const { kind, existing } = found;
  const context = await respondingContext(storage, topology, kind, doc.header);
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
      await tellBothStores(storage, siteId, doc.header, result.respondingHeaderId, result.violation);
      report.conflicts.push({ key, violation: result.violation });
      return;
    case 'created':
    case 'updated':
    case 'deleted':
      await storage.records.upsert(result.writes, { sourceSiteId: siteId, viaSync: false });
      report[result.kind].push(key);
      return;
  }
}

/**
 * A conflict is shown on both sides: a `message` to the initiating store and one to the responding
 * store (no sending store: the processing site writes it, the normal routing delivers it), written
 * again only when its text changes.
 */
async function tellBothStores(storage: SyncStorage, siteId: SiteId, initiating: SyncRecord, respondingId: string, violation: TransferViolation): Promise<void> {
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
    const stored = await storage.records.get('message', id);
    if (stored && stored.deleted !== true && stored.data['text'] === data.text) continue;
    messages.push({ type: 'message', id, storeId: null, otherPartyStoreId: to ?? null, data });
  }
  if (messages.length > 0) await storage.records.upsert(messages, { sourceSiteId: siteId, viaSync: false });
}
