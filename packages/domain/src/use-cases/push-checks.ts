import { recordKey, type SyncRecord } from '../record';
import { recordContentProblem, type RecordContentViolation } from '../record-limits';
import type { RuleViolation } from '../result';
import { classifyRecord, type RecordViolation } from '../rules/classify';
import { decideEdit, type EditViolation } from '../rules/edit-rules';
import { decideReceipt } from '../rules/routing-rules';
import { describeSite, type SiteId } from '../site';
import type { Topology } from '../topology';
import { documentHeaderOf, isTransferHeaderType, tombstoneProblem, type TransferHeaderType } from '../transfers/transfer-documents';
import { detectTransfer } from '../transfers/transfer-rules';
import type { SyncStorage } from '../ports/unit-of-work';
import { channelRefusal, type SyncChannel } from '../sync-channel';

export const PUSH_REFUSAL_CODES = [
  'push.local-data',
  'push.owner-changed',
  'push.line-header-mismatch',
  'push.not-kept-on-central',
  'push.other-server',
] as const;
export type PushRefusalCode = (typeof PUSH_REFUSAL_CODES)[number];

/** The columns that say who owns a record: they never change through sync (moving a store is an admin operation). */
const OWNING_COLUMNS = ['storeId', 'homeStoreId', 'patientId', 'otherPartyStoreId'] as const;

/** What the central already holds of a batch's records and of the headers their lines name. */
export interface PushContext {
  /** the stored version of a record, by `recordKey` */
  stored(record: Pick<SyncRecord, 'type' | 'id'>): SyncRecord | null;
  /** the header a line names: the stored one, else the batch's latest version */
  header(type: TransferHeaderType, id: string): SyncRecord | null;
  /** `recordContentProblem` of a record, found once when the context was loaded */
  readonly contentProblem?: (record: SyncRecord) => RecordContentViolation | null;
}

/** The header a line names, or null for a record that is not a line. */
function lineHeaderOf(record: SyncRecord): { readonly type: TransferHeaderType; readonly id: string } | null {
  return isTransferHeaderType(record.type) ? null : documentHeaderOf(record);
}

/** A document not sent yet: a customer invoice not finalised, a requisition or purchase order not confirmed. */
function isDraftHeader(topology: Topology, header: SyncRecord): boolean {
  return isTransferHeaderType(header.type) && detectTransfer(topology, header).kind === 'pending';
}

/** Loads, in one query, the stored versions of a batch's records and of the headers its lines name. */
export async function pushContext(storage: SyncStorage, topology: Topology, records: readonly SyncRecord[]): Promise<PushContext> {
  const inBatch = new Map<string, SyncRecord>();
  const keys: { type: string; id: string }[] = [];
  const problems = new Map<SyncRecord, RecordContentViolation | null>();
  for (const record of records) {
    const problem = recordContentProblem(record);
    problems.set(record, problem);
    // A record refused for its content is never looked up (an id holding \u0000 is not even valid SQL text).
    if (problem !== null) continue;
    inBatch.set(recordKey(record), record);
    keys.push({ type: record.type, id: record.id });
    const ref = lineHeaderOf(record);
    if (ref) keys.push(ref);
  }
  const stored = new Map((await storage.records.getMany(keys)).map((r) => [recordKey(r), r] as const));
  return {
    contentProblem: (record) => {
      const problem = problems.get(record);
      return problem === undefined ? recordContentProblem(record) : problem;
    },
    stored: (record) => stored.get(recordKey(record)) ?? null,
    // The stored header wins: its owning columns never change through sync, and a header in the
    // same batch may itself be refused (a decoy naming another store's document). Only a draft's
    // new version, of the same store, may bring a new other party for its lines.
    header: (type, id) => {
      const held = stored.get(`${type}:${id}`);
      const sent = inBatch.get(`${type}:${id}`);
      if (!held) return sent ?? null;
      const draftOfSameStore = sent && (sent.storeId ?? null) === (held.storeId ?? null) && isDraftHeader(topology, held);
      return draftOfSameStore ? sent : held;
    },
  };
}

/** A record of a document not sent yet (its header, or a line of it): its other party may still change (a draft's customer is corrected). */
function isDraft(topology: Topology, stored: SyncRecord, context: PushContext): boolean {
  const ref = lineHeaderOf(stored);
  const header = ref ? context.stored(ref) : stored;
  return header !== null && isDraftHeader(topology, header);
}

const NO_CONTEXT: PushContext = { stored: () => null, header: () => null };

/**
 * Why a site may not write `record` over the version already held (on the central, or on the site
 * itself): its owning columns changed (only the other party of a draft may), or the site may not
 * edit the version held. Null when nothing is held or the change is allowed.
 */
export function storedVersionRefusal(
  topology: Topology,
  siteId: SiteId,
  record: SyncRecord,
  context: PushContext,
): RuleViolation<'push.owner-changed'> | EditViolation | RecordViolation | null {
  const stored = context.stored(record);
  if (stored) {
    const changed = OWNING_COLUMNS.filter((column) => (stored[column] ?? null) !== (record[column] ?? null));
    if (changed.length > 0 && !(changed.length === 1 && changed[0] === 'otherPartyStoreId' && isDraft(topology, stored, context))) {
      const was = changed.map((c) => `${c} ${JSON.stringify(stored[c] ?? null)}`).join(', ');
      const now = changed.map((c) => `${c} ${JSON.stringify(record[c] ?? null)}`).join(', ');
      const site = describeSite(topology.site(siteId)!);
      const what = `${record.type} ${record.id}`;
      return {
        code: 'push.owner-changed' satisfies PushRefusalCode,
        rule: 'an id names one record, and the columns that say who owns it (store, other party, patient, home store) never change through sync',
        message: `${what} is already held with ${was}; ${site} sent it with ${now}. Nothing of it was changed.`,
        fix: 'Give a new record a new id. A deletion carries the same owning columns as the record it deletes. To move records to another store, move the store on the central (an admin operation).',
      };
    }
    const editStored = decideEdit(topology, siteId, stored);
    if (!editStored.ok) return editStored.error;
  }

  return null;
}

/**
 * Why the central refuses a pushed record, or null when the pushing site may send it and the
 * central keeps it: the record limits; local data; the edit rules for the new version and for the
 * stored one (a site changes only what it owns, whatever it sends); the server that syncs its type
 * (`served`: this one, the mSupply central or the Open mSupply central); owning columns that never
 * change through sync; a line that belongs to another store's document; and whether the central keeps it.
 */
export function pushRefusal(
  topology: Topology,
  siteId: SiteId,
  record: SyncRecord,
  context: PushContext = NO_CONTEXT,
  served: SyncChannel = 'central',
): RuleViolation | null {
  const content = (context.contentProblem ?? recordContentProblem)(record) ?? tombstoneProblem(record);
  if (content) return content;
  const classified = classifyRecord(topology, record);
  if (!classified.ok) return classified.error;
  // named only in a refusal (this runs for every record of every push)
  const site = () => describeSite(topology.site(siteId)!);
  const what = () => `${record.type} ${record.id}`;
  if (classified.value.row.category === 'local') {
    return {
      code: 'push.local-data' satisfies PushRefusalCode,
      rule: 'local data never leaves the site where it was entered',
      message: `${classified.value.row.label} (${what()}) is local data: ${site()} may not send it.`,
      fix: 'Do not push local records; this is a bug in the sending site.',
    };
  }
  const edit = decideEdit(topology, siteId, record);
  if (!edit.ok) return edit.error;
  const otherServer = channelRefusal(topology, served, record);
  if (otherServer) return otherServer;

  const againstStored = storedVersionRefusal(topology, siteId, record, context);
  if (againstStored) return againstStored;

  const ref = lineHeaderOf(record);
  const header = ref ? context.header(ref.type, ref.id) : null;
  if (ref && header && ((header.storeId ?? null) !== (record.storeId ?? null) || (header.otherPartyStoreId ?? null) !== (record.otherPartyStoreId ?? null))) {
    return {
      code: 'push.line-header-mismatch' satisfies PushRefusalCode,
      rule: 'a line belongs to a document of its own store: it carries its header’s store and other party',
      message: `${what()} names ${ref.type} ${ref.id} of store ${JSON.stringify(header.storeId ?? null)} (other party ${JSON.stringify(header.otherPartyStoreId ?? null)}), but was sent for store ${JSON.stringify(record.storeId ?? null)} (other party ${JSON.stringify(record.otherPartyStoreId ?? null)}).`,
      fix: `Enter the line in ${ref.type} ${ref.id} on the site where its store is active, with the header's store and other party.`,
    };
  }

  // the Open mSupply central server keeps every record of its types (the rules route each to it)
  if (served === 'oms-central') return null;
  const central = topology.central;
  const receipt = decideReceipt(topology, central.id, record);
  if (receipt.ok && !receipt.value.receives) {
    return {
      code: 'push.not-kept-on-central' satisfies PushRefusalCode,
      rule: 'the central keeps only what the rules route to it: store data of stores it holds an active or collector copy of, and transfers it completes',
      message: `${what()} from ${site()}: ${receipt.value.reason} The central does not keep it.`,
      fix: `Do not push it (it stays on ${site()}); to keep it on the central, give the store a collector copy on ${describeSite(central)}.`,
    };
  }
  return null;
}
