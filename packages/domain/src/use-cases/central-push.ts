import type { SyncRecord } from '../record';
import { recordKey } from '../record';
import { printable, recordContentProblem } from '../record-limits';
import type { SiteId } from '../site';
import { describeSite } from '../site';
import { pushContext, pushRefusal } from './push-checks';
import type { SyncChannel } from '../sync-channel';
import type { Topology } from '../topology';
import { patientsOf, queueVisibilityChange, visibilityContext, visibilityPatients } from './scope-changes';
import type { ChangeOrigin } from '../ports/record-store';
import { prescribersOf, visibilityOfPrescribers } from '../rules/patient-visibility';
import { pushConflict, type PushBatch, type PushOutcome, type PushResult, type RefusedRecord } from '../ports/services';
import type { SyncStorage } from '../ports/unit-of-work';
import { sitePushedKey } from './central-sync';

/** The issue-log key prefix of the records the central refused from a site. */
export function quarantinePrefix(siteId: SiteId): string {
  return `quarantine:${siteId}:`;
}

/** The issue-log key under which the central keeps a record it refused from a site. */
export function quarantineKey(siteId: SiteId, record: Pick<SyncRecord, 'type' | 'id'>): string {
  return `${quarantinePrefix(siteId)}${printable(recordKey(record), 400)}`;
}

/** Refused records the central keeps per site: beyond, the least recently seen are dropped and counted under `quarantine-dropped:<site>`. */
export const MAX_QUARANTINED_PER_SITE = 1_000;

/**
 * The central receives a batch from a site (inside one unit of work). Every record is checked
 * for its content and against the ownership rules for that site: a refused record is kept in
 * quarantine (the issue log, with its reason) and reported back, and the rest of the batch is
 * stored and routed. The batch id belongs to the site: a batch received before (same id, same
 * records) writes nothing again and gets exactly the first answer; the same id with other records
 * is a conflict, and nothing is written.
 */
export async function acceptPush(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  batch: PushBatch,
  now: Date,
  served: SyncChannel = 'central',
): Promise<PushOutcome> {
  const receipt = await storage.pushes.claim(siteId, batch.id, batch.digest, now);
  if (receipt) {
    if (receipt.digest !== batch.digest) {
      return pushConflict(
        batch.id,
        `Batch "${batch.id}" of ${describeSite(topology.site(siteId)!)} was received before with other records; this one was not applied.`,
      );
    }
    if (receipt.answer === null) throw new Error(`push batch "${batch.id}" of site ${siteId} was claimed but never answered`);
    return { ...receipt.answer, replayed: true };
  }
  if ((await storage.settings.get(sitePushedKey(siteId))) !== true) await storage.settings.set(sitePushedKey(siteId), true);
  const accepted: SyncRecord[] = [];
  const refused: RefusedRecord[] = [];
  // Only whether this site has refusals kept is read, never the whole issue log.
  const anyQuarantined = (await storage.issues.open({ prefix: quarantinePrefix(siteId), limit: 1 })).length > 0;
  const context = await pushContext(storage, topology, batch.records);
  for (const record of batch.records) {
    const refusal = pushRefusal(topology, siteId, record, context, served);
    if (refusal) {
      refused.push({ recordType: record.type, recordId: record.id, code: refusal.code, message: refusal.message, fix: refusal.fix });
      // the record is kept so that an admin can retry it, unless it was refused for its content (which no storage may hold)
      await storage.issues.report(quarantineKey(siteId, record), refusal, now, recordContentProblem(record) === null ? { subject: record } : {});
    } else {
      accepted.push(record);
    }
  }
  // a record refused before and accepted now: its issue is over
  if (anyQuarantined && accepted.length > 0) await storage.issues.resolveMany(accepted.map((r) => quarantineKey(siteId, r)));
  if (refused.length > 0) await keepQuarantineBounded(storage, topology, siteId, now);
  if (accepted.length > 0) await storeAccepted(storage, topology, accepted, { sourceSiteId: siteId, viaSync: true });
  const answer: PushResult = { batchId: batch.id, accepted: accepted.length, refused };
  await storage.pushes.settle(siteId, batch.id, answer);
  return answer;
}

/**
 * Writes records on the central: when they change where patients are visible, the patients'
 * records are queued to the sites whose routing of them changed, in the same unit of work.
 */
export async function storeAccepted(storage: SyncStorage, topology: Topology, records: readonly SyncRecord[], origin: ChangeOrigin): Promise<void> {
  // prescribers become visible in the stores where they prescribe (the central writes that visibility)
  const prescribers = prescribersOf(records);
  const prescribed = prescribers.length > 0 ? visibilityOfPrescribers(records, await visibilityContext(storage, prescribers)) : [];
  const patients = [...new Set([...visibilityPatients(records), ...patientsOf(prescribed)])];
  const visibleBefore = patients.length > 0 ? await visibilityContext(storage, patients) : {};
  await storage.records.upsert(records, origin);
  if (prescribed.length > 0) await storage.records.upsert(prescribed, { sourceSiteId: topology.central.id, viaSync: false });
  if (patients.length > 0) await queueVisibilityChange(storage, topology, patients, visibleBefore);
}

/** Keeps at most MAX_QUARANTINED_PER_SITE refusals of a site; what is dropped is counted in one issue, so it is never silent. */
async function keepQuarantineBounded(storage: SyncStorage, topology: Topology, siteId: SiteId, now: Date): Promise<void> {
  const dropped = await storage.issues.trim(quarantinePrefix(siteId), MAX_QUARANTINED_PER_SITE);
  if (dropped === 0) return;
  const site = describeSite(topology.site(siteId)!);
  await storage.issues.report(
    `quarantine-dropped:${siteId}`,
    {
      code: 'push.quarantine-full',
      rule: `the central keeps the ${MAX_QUARANTINED_PER_SITE} most recent refusals of each site`,
      message: `${site} sent more refused records than the central keeps: the least recent were dropped from the list (this issue counts them in its occurrences). The records themselves were never stored.`,
      fix: `Look at the refusals of ${site} (its status, or the central's issues) and fix the site: it keeps sending records it may not send.`,
    },
    now,
    { count: dropped },
  );
}
