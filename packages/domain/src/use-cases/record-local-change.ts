import type { SyncRecord } from '../record';
import { recordContentProblem, type RecordContentViolation } from '../record-limits';
import { err, ok, type Result, type RuleViolation } from '../result';
import type { RecordViolation } from '../rules/classify';
import { decideEdit, type EditViolation } from '../rules/edit-rules';
import { routeChange, type Routing, type RoutingContext } from '../rules/routing-rules';
import { hasRole, type SiteId } from '../site';
import { tombstoneProblem } from '../transfers/transfer-documents';
import type { TransferViolation } from '../transfers/transfer-rules';
import { transferEditRefusals } from './transfer-state';
import { storeAccepted } from './central-push';
import { pushContext, storedVersionRefusal } from './push-checks';
import { visibilityOfNewPatient } from '../rules/patient-visibility';
import type { Topology } from '../topology';
import { channelRefusal } from '../sync-channel';
import type { UnitOfWork } from '../ports/unit-of-work';

/** Why a local change is refused: content, edit rules, or the version already held (owner changed). */
export type LocalChangeRefusal =
  | EditViolation
  | RecordViolation
  | RecordContentViolation
  | TransferViolation
  | RuleViolation<'push.owner-changed' | 'record.tombstone-without-header' | 'push.other-server'>;

export interface RecordLocalChangeDeps {
  readonly unitOfWork: UnitOfWork;
}

export interface RecordedChange {
  readonly written: number;
  /** where each record will go, and why */
  readonly routings: readonly Routing[];
}

/**
 * A user on `siteId` adds, edits or deletes records. Every record is checked against the record
 * limits and the ownership rules first; if any is refused, nothing is written and every refusal is returned.
 */
export async function recordLocalChange(
  deps: RecordLocalChangeDeps,
  topology: Topology,
  siteId: SiteId,
  records: readonly SyncRecord[],
  context: RoutingContext = {},
): Promise<Result<RecordedChange, readonly LocalChangeRefusal[]>> {
  const refusals: LocalChangeRefusal[] = [];
  const routings: Routing[] = [];
  for (const record of records) {
    const content = recordContentProblem(record) ?? tombstoneProblem(record);
    if (content) {
      refusals.push(content);
      continue;
    }
    const decision = decideEdit(topology, siteId, record);
    if (!decision.ok) {
      refusals.push(decision.error);
      continue;
    }
    // the mSupply central holds no Open mSupply central data once a site is flagged as one (its own stores' included)
    const otherServer = hasRole(topology.site(siteId)!, 'central') ? channelRefusal(topology, 'central', record) : null;
    if (otherServer) {
      refusals.push(otherServer);
      continue;
    }
    const routing = routeChange(topology, siteId, record, context);
    if (!routing.ok) refusals.push(routing.error);
    else routings.push(routing.value);
  }
  if (refusals.length > 0) return err(refusals);
  const origin = { sourceSiteId: siteId, viaSync: false };
  // On the central, a write may change where patients are visible: storeAccepted queues what that moves.
  const central = hasRole(topology.site(siteId)!, 'central');
  const refused = await deps.unitOfWork.run(async (storage) => {
    // over the version held here: who owns it never changes, and it must be this site's to change
    const context = await pushContext(storage, topology, records);
    const problems: LocalChangeRefusal[] = records.flatMap((r) => storedVersionRefusal(topology, siteId, r, context) ?? []);
    // a transferred document whose other half its store has touched is not changed under it
    problems.push(...(await transferEditRefusals(storage, topology, records)));
    if (problems.length > 0) return problems;
    // a patient created here is also made visible in the other dispensary stores of its home site
    const created = records.filter((r) => context.stored(r) === null).flatMap((r) => visibilityOfNewPatient(topology, siteId, r));
    const written = [...records, ...created];
    if (central) await storeAccepted(storage, topology, written, origin);
    else await storage.records.upsert(written, origin);
    return [];
  });
  if (refused.length > 0) return err(refused);
  return ok({ written: records.length, routings });
}
