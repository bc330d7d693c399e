import { recordKey, type SyncRecord } from '../record';
import { err, ok, type Result } from '../result';
import { describeSite, type SiteId } from '../site';
import { describeStore } from '../store';
import type { Topology } from '../topology';
import { buildRespondingHalf, type RespondingContext } from './responding-half';
import { initiatingRefOf } from './transfer-feedback';
import {
  HEADER_ID_FIELD,
  num,
  respondingId,
  stampTransferCopy,
  str,
  TRANSFER_COPY_FIELD,
  TRANSFER_LINE_TYPES,
  transferTombstone,
  untouchedTransferCopy,
  type TransferDocument,
  type TransferHeaderType,
  type TransferKind,
} from './transfer-documents';
import { detectTransfer, missingCopy, processingSiteOf, transferProcessingSite, type TransferViolation, type TransferViolationCode } from './transfer-rules';

export type TransferOutcome =
  | { readonly kind: 'not-a-transfer'; readonly reason: string }
  | { readonly kind: 'pending'; readonly transferKind: TransferKind; readonly reason: string }
  | {
      /**
       * created: the responding half is new; updated: changes of the initiating half (lines added,
       * changed, deleted, header fields) carried to the untouched responding half; deleted: the
       * initiating half was deleted and so is the untouched responding half; already-processed:
       * nothing the responding half copies changed.
       */
      readonly kind: 'created' | 'updated' | 'deleted' | 'already-processed';
      readonly transferKind: TransferKind;
      /** records to write (responding records stamped with their copy digest, tombstones) */
      readonly writes: readonly SyncRecord[];
      readonly respondingHeaderId: string;
      readonly reason: string;
    }
  | {
      /** the initiating half changed after the responding store touched its half: nothing is written into the other store's document */
      readonly kind: 'conflict';
      readonly transferKind: TransferKind;
      readonly respondingHeaderId: string;
      readonly violation: TransferViolation;
      readonly reason: string;
    };

const LABEL: Record<TransferHeaderType, string> = {
  transaction: 'invoice',
  requisition: 'requisition',
  purchase_order: 'purchase order',
  goods_received: 'goods received',
};

function label(record: SyncRecord): string {
  const kind = str(record.data, 'kind');
  return kind ? `${kind.replace('_', ' ')}` : (LABEL[record.type as TransferHeaderType] ?? record.type);
}

/** The transfer kind a header starts, whatever its status or deletion (null: it starts none). */
export function transferKindOf(topology: Topology, header: SyncRecord): TransferKind | null {
  const detection = detectTransfer(topology, header.deleted === true ? { ...header, deleted: false } : header);
  return detection.kind === 'not-a-transfer' ? null : detection.transferKind;
}

/**
 * Completes, updates or deletes the responding half of the initiating half `doc` (header and its
 * lines, tombstones included) on `processingSiteId`. `existing` is the responding half stored now
 * (tombstones included), if any. Rules (docs/sync-rules.md tables X and Y):
 * - no responding half yet: it is created once the initiating half is finalised/confirmed;
 * - the responding half is compared with what the transfer last wrote (each record carries the
 *   digest of its transferred content): when the initiating half changed what is copied (lines
 *   added, changed, deleted, the whole document deleted) and the responding store has not touched
 *   its half (not edited, not deleted, no line of its own: numbering does not count), the change is
 *   carried exactly; when it has, nothing is written and the outcome is a `conflict`.
 * A transfer that cannot be routed is refused with the configuration fix, never created half-way.
 */
export function processInitiatingHalf(
  topology: Topology,
  processingSiteId: SiteId,
  doc: TransferDocument,
  existing: TransferDocument | null,
  context: RespondingContext = {},
): Result<TransferOutcome, TransferViolation> {
  const { header } = doc;
  const refuse = (code: TransferViolationCode, rule: string, message: string, fix: string) =>
    err<TransferViolation>({ code, rule, message, fix, recordId: header.id });

  if (!(header.type in TRANSFER_LINE_TYPES)) {
    return refuse(
      'transfer.not-a-header',
      'transfers are made of transaction, requisition, purchase order or goods received headers',
      `${header.type} ${header.id} is not a transfer header.`,
      'Pass the header record, with its lines.',
    );
  }
  const lineType = TRANSFER_LINE_TYPES[header.type as TransferHeaderType];
  const headerField = HEADER_ID_FIELD[header.type as TransferHeaderType];
  const stray = doc.lines.find((l) => l.type !== lineType || str(l.data, headerField) !== header.id);
  if (stray) {
    return refuse(
      'transfer.line-not-of-header',
      'a transfer is applied with its own lines only',
      `${stray.type} ${stray.id} is not a line of ${header.type} ${header.id}.`,
      `Pass only ${lineType} records whose ${headerField} is ${header.id}.`,
    );
  }
  if (header.otherPartyStoreId && !topology.store(header.otherPartyStoreId)) {
    return refuse(
      'transfer.unknown-store',
      'both stores of a transfer exist',
      `${header.type} ${header.id} names store "${header.otherPartyStoreId}" as its other party, and there is no such store.`,
      'Create the store on the primary (and give it a copy on the sites involved), or correct the other party.',
    );
  }

  const live = existing !== null && existing.header.deleted !== true;
  if (header.deleted === true) {
    // a header's tombstone need not say what it was: the responding half, when there is one, does
    const transferKind = transferKindOf(topology, header) ?? (existing ? (initiatingRefOf(existing.header)?.kind ?? null) : null);
    if (transferKind === null) {
      return ok({ kind: 'not-a-transfer', reason: `${header.type} ${header.id} is deleted and has no responding half: nothing was transferred.` });
    }
    if (!existing || !live) {
      return ok({
        kind: 'already-processed',
        transferKind,
        writes: [],
        respondingHeaderId: respondingId(header.id, transferKind),
        reason: `${header.type} ${header.id} is deleted and has no responding half left: nothing to do.`,
      });
    }
    const tombstones = [existing.header, ...existing.lines].filter((r) => r.deleted !== true).map(transferTombstone);
    return carryOrConflict(topology, doc, existing, transferKind, tombstones, 'deleted');
  }

  const detection = detectTransfer(topology, header);
  if (detection.kind === 'not-a-transfer') return ok(detection);
  if (detection.kind === 'pending') {
    // a finalised half set back (or not all lines yet) leaves an existing responding half as it is
    return ok(detection);
  }
  const { transferKind, initiating, responding } = detection;

  // a line's tombstone has arrived too: a line count the sender left as it was before deleting a line does not hold the transfer back
  const expected = num(header.data, 'lineCount');
  if (expected !== null && doc.lines.length < expected) {
    return ok({
      kind: 'pending',
      transferKind,
      reason: `${header.type} ${header.id} has ${expected} lines and ${doc.lines.length} have arrived: the transfer waits for the rest, so it never appears without its lines.`,
    });
  }

  const processing = transferProcessingSite(topology, initiating, responding);
  if (processing.site.id !== processingSiteId) {
    return refuse(
      'transfer.wrong-processing-site',
      'a transfer is completed by the site both stores are active on, otherwise by the central',
      `${describeSite(topology.site(processingSiteId) ?? processing.site)} cannot complete ${header.type} ${header.id}: ${processing.reason}`,
      `Let ${describeSite(processing.site)} process it.`,
    );
  }
  const problem = missingCopy(topology, header, initiating, responding);
  if (problem) return err(problem);

  const made = buildRespondingHalf(transferKind, doc, initiating, responding, context);
  if (!existing) {
    return ok({
      kind: 'created',
      transferKind,
      writes: [made.header, ...made.lines].map(stampTransferCopy),
      respondingHeaderId: made.header.id,
      reason: detection.reason,
    });
  }
  // the target: the built half, and a tombstone for every transferred line whose initiating line is gone
  const builtIds = new Set(made.lines.map((l) => l.id));
  const gone = existing.lines.filter((l) => l.deleted !== true && typeof l.data['linkedLineId'] === 'string' && !builtIds.has(l.id));
  const serial = existing.header.data['serialNumber'];
  const header2 = live ? { ...made.header, data: { ...made.header.data, serialNumber: serial ?? made.header.data['serialNumber'] } } : made.header;
  const target = [header2, ...made.lines].map(stampTransferCopy).concat(gone.map(transferTombstone));
  return carryOrConflict(topology, doc, existing, transferKind, target, 'updated');
}

/** The target records that differ from what the transfer last wrote, or null when one is unknown (a record without its digest). */
function changedRecords(existing: TransferDocument, target: readonly SyncRecord[]): SyncRecord[] {
  const have = new Map([existing.header, ...existing.lines].map((r) => [r.id + '\u0000' + r.type, r]));
  const changed: SyncRecord[] = [];
  for (const record of target) {
    const current = have.get(record.id + '\u0000' + record.type);
    if (!current) {
      if (record.deleted !== true) changed.push(record);
      continue;
    }
    if (record.deleted === true) {
      // a deletion changes something only if the record is still there as the transfer wrote it or touched
      if (current.deleted !== true) changed.push(record);
      continue;
    }
    const last = current.data[TRANSFER_COPY_FIELD];
    if (current.deleted === true && current.data['deletedByTransfer'] === true)
      changed.push(record); // deleted, now back
    else if (typeof last === 'string' && last !== record.data[TRANSFER_COPY_FIELD]) changed.push(record);
  }
  return changed;
}

function carryOrConflict(
  topology: Topology,
  doc: TransferDocument,
  existing: TransferDocument,
  transferKind: TransferKind,
  target: readonly SyncRecord[],
  kind: 'updated' | 'deleted',
): Result<TransferOutcome, TransferViolation> {
  const { header } = doc;
  const respondingHeaderId = existing.header.id;
  const changed = changedRecords(existing, target);
  if (changed.length === 0) {
    return ok({
      kind: 'already-processed',
      transferKind,
      writes: [],
      respondingHeaderId,
      reason: `${header.type} ${header.id} was already completed as ${existing.header.type} ${respondingHeaderId}: nothing it copies changed.`,
    });
  }
  const touched = touchedRecords(existing);
  if (touched.length === 0) {
    const what =
      kind === 'deleted'
        ? `${header.type} ${header.id} was deleted: so is ${existing.header.type} ${respondingHeaderId}, which its store had not touched.`
        : `${changed.length} change(s) of ${header.type} ${header.id} carried to ${existing.header.type} ${respondingHeaderId}, which its store had not touched.`;
    return ok({ kind, transferKind, writes: changed, respondingHeaderId, reason: what });
  }
  const violation = conflictViolation(topology, header, existing, touched, kind);
  return ok({ kind: 'conflict', transferKind, respondingHeaderId, violation, reason: violation.message });
}

/** The records of a responding half its store has touched (edited, deleted, added): empty while it is as the transfer wrote it. */
export function touchedRecords(existing: TransferDocument): readonly SyncRecord[] {
  return [existing.header, ...existing.lines].filter((r) => !untouchedTransferCopy(r));
}

function conflictViolation(
  topology: Topology,
  header: SyncRecord,
  existing: TransferDocument,
  touched: readonly SyncRecord[],
  kind: 'updated' | 'deleted',
): TransferViolation {
  const respondingStore = topology.store(existing.header.storeId ?? '');
  const store = respondingStore ? describeStore(respondingStore) : `store ${existing.header.storeId ?? '?'}`;
  const n = existing.header.data['serialNumber'];
  const status = str(existing.header.data, 'status');
  const state =
    existing.header.deleted === true
      ? 'deleted it'
      : status === 'finalised'
        ? 'finalised it'
        : touched.some((r) => r.deleted === true || typeof r.data[TRANSFER_COPY_FIELD] !== 'string')
          ? 'changed its lines'
          : 'started working on it';
  return {
    code: 'transfer.responding-half-touched',
    rule: 'once the responding store has touched its half of a transfer, changes of the initiating half are not carried to it',
    message:
      `${label(header)} ${header.id} ${kind === 'deleted' ? 'was deleted' : 'changed'} after ${store} received it as ${label(existing.header)} ` +
      `${existing.header.id}${typeof n === 'number' && n > 0 ? ` (number ${n})` : ''} and ${state}: the change is not carried to ${store}'s document ` +
      `(changed there: ${touched.map(recordKey).slice(0, 3).join(', ')}${touched.length > 3 ? ', ...' : ''}).`,
    fix:
      kind === 'deleted'
        ? `Keep ${header.id} (do not delete it) and raise a return or credit for the goods instead, agreed with ${store}.`
        : `Undo the change to ${header.id} and raise a credit or return (or a new ${label(header)}) for the difference, agreed with ${store}.`,
    recordId: header.id,
  };
}

/**
 * On the initiating site, before a change of the initiating half is written: the refusal the
 * processing site would answer it with (a `conflict`: what the transfer copies would change while
 * the responding store has touched its half), or null. The same rule as the processing site's, on
 * the same digests of what was last written into the responding half: undoing a change, or
 * finalising again a document that copies the same, is accepted.
 */
export function transferEditConflict(
  topology: Topology,
  after: TransferDocument,
  existing: TransferDocument,
  context: RespondingContext = {},
): TransferViolation | null {
  const processing = processingSiteOf(topology, after.header);
  if (!processing) return null;
  const outcome = processInitiatingHalf(topology, processing.id, after, existing, context);
  return outcome.ok && outcome.value.kind === 'conflict' ? outcome.value.violation : null;
}
