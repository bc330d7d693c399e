import type { Change } from '../ports/change-feed';
import type { SyncRecord } from '../record';
import type { RoutingContext } from '../rules/routing-rules';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import { siteHolds } from './scope-changes';

/**
 * Everything the routing rules read of a record: its type and routing columns (an empty column as
 * one left out), and for a record of a patient, the stores where the patient is visible (as a set).
 * Two records with one signature are routed alike by every rule, to every site.
 */
export function routingSignature(
  record: Pick<SyncRecord, 'type' | 'storeId' | 'otherPartyStoreId' | 'homeStoreId' | 'patientId'>,
  context: RoutingContext,
): string {
  const base = `${record.type}\u0001${record.storeId ?? ''}\u0001${record.otherPartyStoreId ?? ''}\u0001${record.homeStoreId ?? ''}`;
  if (!record.patientId) return `${base}\u0001-`;
  if (!context.patientVisibleIn) return `${base}\u0001?`;
  return `${base}\u0001+${[...new Set(context.patientVisibleIn(record.patientId))].sort().join('\u0001')}`;
}

/**
 * Whether changes go to one site under one topology (`changeGoesTo`), the routing rules asked once
 * per routing signature: a page of central data, which has one signature per type, costs a few rule
 * evaluations instead of one per change. The answers are those of `changeGoesTo` for every change.
 */
export class SiteRouting {
  private readonly decided = new Map<string, boolean>();

  constructor(
    private readonly topology: Topology,
    private readonly siteId: SiteId,
    private readonly includeOwn = false,
  ) {}

  /** Whether `change` goes to the site: routed there, and not the site's own change coming back (unless `includeOwn`). */
  goes(change: Pick<Change, 'record' | 'sourceSiteId'>, context: RoutingContext): boolean {
    if (change.sourceSiteId === this.siteId && !this.includeOwn) return false;
    const signature = routingSignature(change.record, context);
    let holds = this.decided.get(signature);
    if (holds === undefined) {
      holds = siteHolds(this.topology, this.siteId, change.record, context);
      this.decided.set(signature, holds);
    }
    return holds;
  }
}
