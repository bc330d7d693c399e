import type { SyncRecord } from '../record';
import type { Result, RuleViolation } from '../result';
import { describeSite, hasRole, type SiteId } from '../site';
import { describeStore } from '../store';
import type { Topology } from '../topology';
import type { RecordViolation } from './classify';
import { decideReceipt, type ReceiptDecision, type RoutingContext } from './routing-rules';

export interface InitialisationScope {
  /** what the site receives */
  readonly what: string;
  /** the rule that sends it */
  readonly why: string;
}

export interface InitialisationPlan {
  readonly siteId: SiteId;
  readonly scopes: readonly InitialisationScope[];
  /** data the site should hold but the central cannot give it */
  readonly warnings: readonly RuleViolation<'init.store-data-not-on-central'>[];
}

/**
 * What a site receives when it is initialised from the central: in words, per scope. Which records
 * exactly is decided by `includeInInitialisation`, the same predicate that routes changes, so an
 * initialised site holds exactly what it would have accumulated by syncing.
 */
export function planInitialisation(topology: Topology, siteId: SiteId): InitialisationPlan {
  const site = topology.site(siteId);
  if (!site) throw new Error(`planInitialisation: unknown site ${siteId}`);
  const scopes: InitialisationScope[] = [{ what: 'all central data (items, names, ...)', why: 'central data goes to every site' }];
  const warnings: RuleViolation<'init.store-data-not-on-central'>[] = [];
  if (hasRole(site, 'central') || topology.hasActiveDispensary(siteId)) {
    scopes.push({
      what: 'dispensary central data (abbreviations, item directions, diagnoses, insurance providers, patient event types)',
      why: 'the site has an active dispensary store, or is the central',
    });
  }
  for (const store of topology.stores) {
    const type = topology.syncTypeOn(store.id, siteId);
    const name = describeStore(store);
    if (type === 'active') {
      scopes.push({
        what: `${name}: store record, central store data (preferences, visibility, centralised orders) and all its store data`,
        why: `${name} is active here`,
      });
      if (store.activeSiteId !== topology.central.id && topology.syncTypeOn(store.id, topology.central.id) !== 'collector') {
        warnings.push({
          code: 'init.store-data-not-on-central',
          rule: 'the central can only give back store data it collects',
          message: `${name} has no collector copy on the central, so its store data is not on the central and an initial sync cannot restore it to ${describeSite(site)}.`,
          fix: `Initialise ${describeSite(site)} from a site export file, or give ${name} a collector copy on the central first.`,
        });
      }
      scopes.push({
        what: `patients visible in ${name}, and their data`,
        why: 'patient data goes to sites with an active or collector store where the patient is visible',
      });
    } else if (type === 'collector') {
      scopes.push({ what: `${name}: store record and all its store data`, why: `${name} has a collector copy here` });
      scopes.push({
        what: `patients visible in ${name}, and their data`,
        why: 'patient data goes to sites with an active or collector store where the patient is visible',
      });
    } else if (type === 'transfer') {
      scopes.push({ what: `${name}: store record and its transfers with stores active here`, why: `${name} has a transfer copy here` });
    } else if (hasRole(site, 'central') || hasRole(site, 'primary')) {
      scopes.push({ what: `${name}: store record`, why: 'every store exists on the central and the primary' });
    }
  }
  scopes.push({ what: 'messages to and from stores active here', why: 'messages are routed by their sending and receiving stores' });
  return { siteId, scopes, warnings };
}

/** Whether `record` is part of `siteId`'s initial data, and why. */
export function includeInInitialisation(
  topology: Topology,
  siteId: SiteId,
  record: SyncRecord,
  context: RoutingContext = {},
): Result<ReceiptDecision, RecordViolation> {
  return decideReceipt(topology, siteId, record, context);
}
