import { recordKey, type SyncRecord } from '../record';
import { printable, RECORD_CONTENT_CODES, recordContentProblem } from '../record-limits';
import type { RuleViolation } from '../result';
import { decideReceipt } from '../rules/routing-rules';
import { describeSite, type SiteId } from '../site';
import type { Topology } from '../topology';
import type { SyncStorage } from '../ports/unit-of-work';
import type { RecordKeyOf } from '../ports/resync-queue';
import type { Change } from '../ports/change-feed';
import { numberSequenceOf } from '../transfers/transfer-documents';
import { decideEdit } from '../rules/edit-rules';
import { SITE_PROCESSOR_INTERESTS } from './processor-interests';
import { CENTRAL_CHANNEL, channelKeysOf, pushConsumersOf } from '../sync-channel';

/** The remote's change-feed consumer that pushes its own changes to the central. */
export const PUSH_CONSUMER = CENTRAL_CHANNEL.pushConsumer;
/** The issue-log key prefix of a pulled record this site did not store. */
export const PULL_FAILURE_PREFIX = 'pulled:';

/**
 * Why a remote does not store a pulled record, or null when it does: it breaks the record limits,
 * or the rules do not route it to this site (a record of a store it holds no copy of, local data,
 * settings). A site applies only what the rules send it, whatever the central sends.
 */
export function pullRefusal(topology: Topology, siteId: SiteId, record: SyncRecord): RuleViolation | null {
  const content = recordContentProblem(record);
  if (content) return content;
  const receipt = decideReceipt(topology, siteId, record);
  if (!receipt.ok) return receipt.error;
  // Who sees a patient is known on the central (visibility), not here: patient data it sends is taken.
  if (receipt.value.receives || receipt.value.rule === 'patient-withheld') return null;
  const site = describeSite(topology.site(siteId)!);
  return {
    code: 'pull.not-routed-here',
    rule: 'a site stores only the records the rules route to it',
    message: `${printable(recordKey(record))} was pulled from the central, but does not go to ${site}: ${receipt.value.reason}`,
    fix: 'Nothing to do on this site if the topology is right: it is kept here, not applied. If this site should hold it, give it the right copy of the store on the central; it is applied at the next sync.',
  };
}

function pullFailureKey(record: SyncRecord): string {
  return `${PULL_FAILURE_PREFIX}${printable(recordKey(record), 400)}`;
}

/**
 * Writes pulled records; when nothing of this site's own waited to be pushed, the push cursor skips
 * them, and so does the cursor of each processor that had read everything before them when none of
 * them concerns it (an initial sync's central data is never scanned again by the processors).
 * Numbers found in use in the site's own stores (its numbered documents, sent back after a
 * re-initialisation) move the store's serial counters past them, so no number is used twice.
 */
async function store(s: SyncStorage, topology: Topology, siteId: SiteId, records: readonly SyncRecord[]): Promise<void> {
  const headBefore = await s.changes.head();
  const skipping: string[] = [];
  for (const consumer of pushConsumersOf(topology)) if ((await s.changes.cursorOf(consumer)) === headBefore) skipping.push(consumer);
  for (const { consumer, concerns } of SITE_PROCESSOR_INTERESTS) {
    if ((await s.changes.cursorOf(consumer)) === headBefore && !records.some(concerns)) skipping.push(consumer);
  }
  await s.records.upsert(records, { sourceSiteId: topology.central.id, viaSync: true });
  if (skipping.length > 0) {
    const head = await s.changes.head();
    for (const consumer of skipping) await s.changes.advance(consumer, head);
  }
  const inUse = new Map<string, { readonly storeId: string; readonly type: string; number: number }>();
  for (const r of records) {
    const n = r.data['serialNumber'];
    if (!r.storeId || typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || topology.store(r.storeId)?.activeSiteId !== siteId) continue;
    const sequence = numberSequenceOf(r);
    const key = JSON.stringify([r.storeId, sequence]);
    const kept = inUse.get(key);
    if (!kept) inUse.set(key, { storeId: r.storeId, type: sequence, number: n });
    else kept.number = Math.max(kept.number, n);
  }
  for (const { storeId, type, number } of inUse.values()) await s.records.raiseSerialNumber(storeId, type, number);
}

/**
 * This site's own changes after its push cursor, without data (usually none: pulls follow the push
 * phase). What it has not pushed yet: kept from drops and from pulled versions, counted in `status`
 * and reported to the central.
 */
export async function unpushedChanges(s: SyncStorage, siteId: SiteId, topology: Topology | null): Promise<Change[]> {
  const cursors = new Map<string, bigint>();
  for (const consumer of pushConsumersOf(topology)) cursors.set(consumer, await s.changes.cursorOf(consumer));
  // each change after the cursor of the server its type syncs with (the Open mSupply central's, once one is flagged)
  const after = (c: Change) => c.cursor > cursors.get(topology ? channelKeysOf(topology, c.record.type).pushConsumer : PUSH_CONSUMER)!;
  const out: Change[] = [];
  for (let from = [...cursors.values()].reduce((a, b) => (a < b ? a : b)); ;) {
    const page = await s.changes.scan(from, 10_000);
    for (const c of page) if (!c.viaSync && c.sourceSiteId === siteId && after(c)) out.push(c);
    if (page.length < 10_000) return out;
    from = page[page.length - 1]!.cursor;
  }
}

async function unpushedKeys(s: SyncStorage, siteId: SiteId, topology: Topology): Promise<Set<string>> {
  return new Set((await unpushedChanges(s, siteId, topology)).map((c) => recordKey(c.record)));
}

/** The issue-log key prefix of a record the central asked this site to drop and that it kept. */
export const DROP_KEPT_PREFIX = 'drop-kept:';

/**
 * Deletes the records the central says this site may no longer hold (its scope narrowed: a copy
 * lowered, a store moved away). A record this site owns, or has changes of that it has not pushed,
 * is kept and reported instead: a site never loses what it wrote because of what it was sent.
 * Returns how many were deleted.
 */
export async function applyDrops(s: SyncStorage, topology: Topology, siteId: SiteId, drops: readonly RecordKeyOf[], now: Date): Promise<number> {
  if (drops.length === 0) return 0;
  const stored = await s.records.getMany(drops);
  if (stored.length === 0) return 0;
  const unpushed = await unpushedKeys(s, siteId, topology);
  const removed: RecordKeyOf[] = [];
  for (const record of stored) {
    const key = recordKey(record);
    const owned = decideEdit(topology, siteId, record).ok;
    if (!owned && !unpushed.has(key)) {
      removed.push({ type: record.type, id: record.id });
      continue;
    }
    await s.issues.report(
      `${DROP_KEPT_PREFIX}${printable(key, 400)}`,
      {
        code: 'pull.drop-refused',
        rule: 'a site drops only records it does not own and has pushed',
        message: owned
          ? `The central asked ${describeSite(topology.site(siteId)!)} to drop ${printable(key)}, which it owns: it is kept.`
          : `The central asked ${describeSite(topology.site(siteId)!)} to drop ${printable(key)}, which has changes here not pushed yet: it is kept.`,
        fix: owned
          ? 'Check the topology on the central: this site should not be told to drop its own data.'
          : 'Let this site push (sync); the central decides whether it may still change this record, and lists a refusal as an issue.',
      },
      now,
    );
  }
  await s.records.remove(removed);
  return removed.length;
}

/**
 * Stores a pulled batch (inside the unit of work that advances the pull cursor): a record this site
 * does not store (`pullRefusal`) is kept in the inbound buffer with its error and reported as an
 * issue, and the others are applied. A later version of a record kept that way replaces it and
 * closes its issue. Returns how many were kept rather than applied.
 */
export async function applyPulled(
  s: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  records: readonly SyncRecord[],
  cursor: bigint,
  now: Date,
): Promise<number> {
  if (records.length === 0) return 0;
  const good: SyncRecord[] = [];
  const bad: { readonly record: SyncRecord; readonly problem: RuleViolation }[] = [];
  for (const record of records) {
    const problem = pullRefusal(topology, siteId, record);
    if (problem) bad.push({ record, problem });
    else good.push(record);
  }
  // A record this site owns and has changed since its last push keeps the local change: the version
  // coming back (its own, on a re-initialising pass or a resync) is older, and the change goes up next.
  const unpushed = good.length > 0 ? await unpushedKeys(s, siteId, topology) : new Set<string>();
  const fresh = unpushed.size === 0 ? good : good.filter((r) => !(unpushed.has(recordKey(r)) && decideEdit(topology, siteId, r).ok));
  if (fresh.length > 0) await store(s, topology, siteId, fresh);
  await forgetReplaced(s, fresh);
  if (bad.length > 0) {
    // Data too deep or too large to store is not kept (it cannot be written): the record's identity and error are.
    const keepable = (b: (typeof bad)[number]): SyncRecord =>
      b.problem.code === 'record.too-deep' || b.problem.code === 'record.too-large' ? { ...b.record, data: { notKept: b.problem.code } } : b.record;
    await s.inbound.stage(`pull:${cursor}:${now.getTime()}`, topology.central.id, bad.map(keepable));
    const staged = (await s.inbound.pending(Number.MAX_SAFE_INTEGER)).filter((p) => p.lastError === null);
    for (const { record, problem } of bad) {
      const buffered = staged.find((p) => p.record.type === record.type && p.record.id === record.id);
      if (buffered) await s.inbound.markFailed(buffered.seq, { code: problem.code, message: problem.message, fix: problem.fix });
      await s.issues.report(pullFailureKey(record), { ...problem, rule: `a pulled record is stored only if ${problem.rule}` }, now);
    }
  }
  return bad.length;
}

/** Records applied now replace the versions kept before: their buffered copies and issues go. */
async function forgetReplaced(s: SyncStorage, applied: readonly SyncRecord[]): Promise<void> {
  if (applied.length === 0) return;
  const failedKeys = new Set((await s.issues.open({ prefix: PULL_FAILURE_PREFIX })).map((i) => i.key));
  if (failedKeys.size === 0) return;
  const replaced = new Set<string>();
  for (const record of applied) {
    const key = pullFailureKey(record);
    if (!failedKeys.has(key)) continue;
    replaced.add(recordKey(record));
    await s.issues.resolve(key);
  }
  if (replaced.size > 0) await s.inbound.markApplied((await s.inbound.failures()).filter((f) => replaced.has(recordKey(f.record))).map((f) => f.seq));
}

/**
 * Pulled records kept before for the topology of the time (not routed here, a store not known yet)
 * are applied once the topology lets them through. Records kept for their content are not retried
 * (a later, corrected version replaces them). Returns how many were applied.
 */
export async function retryPullFailures(s: SyncStorage, topology: Topology, siteId: SiteId): Promise<number> {
  const failures = await s.inbound.failures();
  const now = failures.filter(
    (f) => f.lastError !== null && !(RECORD_CONTENT_CODES as readonly string[]).includes(f.lastError.code) && pullRefusal(topology, siteId, f.record) === null,
  );
  if (now.length === 0) return 0;
  // the latest kept version of each record, in the order they were kept
  const latest = new Map(now.map((f) => [recordKey(f.record), f.record] as const));
  await store(s, topology, siteId, [...latest.values()]);
  await s.inbound.markApplied(now.map((f) => f.seq));
  for (const record of latest.values()) await s.issues.resolve(pullFailureKey(record));
  return latest.size;
}
