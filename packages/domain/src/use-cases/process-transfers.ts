import { recordKey } from '../record';
import type { RuleViolation } from '../result';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import type { SyncIssue } from '../ports/issue-log';
import {
  documentHeaderOf,
  HEADER_ID_FIELD,
  isTransferHeaderType,
  respondingId,
  TRANSFER_LINE_TYPES,
  type TransferDocument,
  type TransferHeaderType,
  type TransferKind,
} from '../transfers/transfer-documents';
import { consumeChanges } from './consume-changes';
import { detectTransfer, processInitiatingHalf, transferProcessingSite } from '../transfers/transfer-rules';

/** The change-feed consumer name transfer processing keeps its cursor under. */
export const TRANSFER_PROCESSOR = 'transfer-processor';

const RESPONDING_TYPE: Record<TransferKind, TransferHeaderType> = {
  'stock-transfer': 'transaction',
  'mobile-requisition': 'requisition',
  'internal-order': 'transaction',
  'internal-receipt': 'goods_received',
};

export interface TransferReport {
  readonly created: readonly string[];
  readonly linesAdded: readonly string[];
  readonly alreadyProcessed: readonly string[];
  /** initiating halves waiting for a status or for their lines */
  readonly pending: readonly { readonly key: string; readonly reason: string }[];
  /** transfers that could not be completed: also kept in the issue log until they can be */
  readonly refused: readonly { readonly key: string; readonly violation: RuleViolation }[];
}

/**
 * Completes the transfers this site is responsible for (the central for stores on different
 * sites; a site for its own stores), reading the change feed from its own cursor. Each batch of
 * changes is processed and the cursor advanced in one unit of work, so a crash repeats a batch
 * (which writes nothing new) and never skips one.
 */
export async function processTransfers(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
  options: { readonly batchSize?: number } = {},
): Promise<TransferReport> {
  const report = {
    created: [] as string[],
    linesAdded: [] as string[],
    alreadyProcessed: [] as string[],
    pending: [] as TransferReport['pending'][number][],
    refused: [] as TransferReport['refused'][number][],
  };
  const batchSize = options.batchSize ?? 2_000;
  // Transfers refused earlier (kept in the issue log) are tried again first: once the
  // configuration is fixed they complete without waiting for another change to the record.
  await deps.unitOfWork.run(async (storage) => {
    const open = await openTransferIssues(storage);
    const openKeys = new Set(open.map((i) => i.key));
    for (const issue of open) {
      if (!issue.violation.code.startsWith('transfer.')) continue;
      const [type, ...rest] = issue.key.split(':');
      if (type && isTransferHeaderType(type)) await processOne(storage, topology, siteId, { type, id: rest.join(':') }, deps.clock.now(), report, openKeys);
    }
  });
  // Scanned without data: only records between two stores can be transfers, and only those are read.
  await consumeChanges(deps.unitOfWork, TRANSFER_PROCESSOR, batchSize, async (storage, changes) => {
    const headers = new Map<string, { type: TransferHeaderType; id: string }>();
    for (const { record } of changes) {
      if (!record.otherPartyStoreId || !isTransferRecordType(record.type)) continue;
      const full = isTransferHeaderType(record.type) ? record : await storage.records.get(record.type, record.id);
      const ref = full ? documentHeaderOf(full) : null;
      if (ref) headers.set(`${ref.type}:${ref.id}`, ref);
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

/** The open issues of transfer headers (keyed `<header type>:<id>`), not the whole issue log. */
async function openTransferIssues(storage: SyncStorage): Promise<readonly SyncIssue[]> {
  const all: SyncIssue[] = [];
  for (const type of Object.keys(TRANSFER_LINE_TYPES)) all.push(...(await storage.issues.open({ prefix: `${type}:` })));
  return all;
}

async function loadDocument(storage: SyncStorage, type: TransferHeaderType, id: string): Promise<TransferDocument | null> {
  const header = await storage.records.get(type, id);
  if (!header) return null;
  // Only lines of the header's own store belong to it (a line carries its header's store).
  const lines = (await storage.records.findByField(TRANSFER_LINE_TYPES[type], HEADER_ID_FIELD[type], id)).filter(
    (line) => (line.storeId ?? null) === (header.storeId ?? null),
  );
  return { header, lines };
}

async function processOne(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  ref: { type: TransferHeaderType; id: string },
  now: Date,
  report: {
    created: string[];
    linesAdded: string[];
    alreadyProcessed: string[];
    pending: TransferReport['pending'][number][];
    refused: TransferReport['refused'][number][];
  },
  /** the issue keys open when the batch started: only those need resolving */
  openKeys: ReadonlySet<string>,
): Promise<void> {
  const doc = await loadDocument(storage, ref.type, ref.id);
  if (!doc) return;
  const key = recordKey(doc.header);
  const detection = detectTransfer(topology, doc.header);
  if (detection.kind === 'not-a-transfer') return;
  if (detection.kind === 'initiating' && transferProcessingSite(topology, detection.initiating, detection.responding).site.id !== siteId) {
    return; // another site completes it (the central, or the site both stores are on)
  }
  const existing =
    detection.kind === 'initiating'
      ? await loadDocument(storage, RESPONDING_TYPE[detection.transferKind], respondingId(doc.header.id, detection.transferKind))
      : null;
  const outcome = processInitiatingHalf(topology, siteId, doc, existing);
  if (!outcome.ok) {
    await storage.issues.report(key, outcome.error, now);
    report.refused.push({ key, violation: outcome.error });
    return;
  }
  if (openKeys.has(key)) await storage.issues.resolve(key);
  const result = outcome.value;
  switch (result.kind) {
    case 'not-a-transfer':
      return;
    case 'pending':
      report.pending.push({ key, reason: result.reason });
      return;
    case 'already-processed':
      report.alreadyProcessed.push(key);
      return;
    case 'created':
    case 'lines-added':
      await storage.records.upsert(result.writes, { sourceSiteId: siteId, viaSync: false });
      (result.kind === 'created' ? report.created : report.linesAdded).push(key);
      return;
  }
}
