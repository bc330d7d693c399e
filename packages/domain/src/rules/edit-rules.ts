import type { CatalogueRow } from '../catalogue';
import type { SyncRecord } from '../record';
import { err, ok, type Result, type RuleViolation } from '../result';
import { describeSite, hasRole, type Site, type SiteId } from '../site';
import { describeStore } from '../store';
import type { Topology } from '../topology';
import { classifyRecord, type RecordViolation } from './classify';
import { topologyForRecord } from './store-creation';

/** The rows of the "who may edit" decision table in docs/sync-rules.md. */
export const EDIT_RULES = [
  'central-on-primary',
  'oms-configured-on-oms-central',
  'central-store-on-primary',
  'centralised-on-primary',
  'store-on-active-site',
  'patient-on-home-site',
  'local-anywhere',
  'sync-on-central',
  'message-from-active-store',
  'message-anywhere',
] as const;
export type EditRule = (typeof EDIT_RULES)[number];

export const EDIT_VIOLATION_CODES = [
  'edit.unknown-site',
  'edit.central-data-not-primary',
  'edit.oms-data-not-oms-central',
  'edit.no-oms-central',
  'edit.central-store-data-not-primary',
  'edit.store-not-active-here',
  'edit.patient-not-home-site',
  'edit.patient-no-dispensary',
  'edit.sync-data-not-central',
  'edit.message-sender-not-here',
] as const;
export type EditViolationCode = (typeof EDIT_VIOLATION_CODES)[number];

export interface EditViolation extends RuleViolation<EditViolationCode> {
  readonly editRule: EditRule | null;
  readonly siteId: SiteId;
  readonly recordType: string;
  readonly recordId: string;
  /** the site that may edit the record, when there is one */
  readonly editorSiteId: SiteId | null;
}

export interface EditPermission {
  readonly editRule: EditRule;
  readonly row: CatalogueRow;
  /** why the site may edit it, in words a support person understands */
  readonly reason: string;
}

/**
 * Open mSupply central data edited on the Open mSupply central server: its configured types always
 * (without one, nobody edits them), its synchronised central and central store data (immunisation
 * programs, vaccine courses, store properties) once a site is flagged as one.
 */
function editedOnOmsCentral(row: CatalogueRow, topology: Topology): boolean {
  if (row.special.includes('oms-central-configured')) return true;
  return row.special.includes('oms-central-synced') && topology.omsCentral !== undefined;
}

/**
 * May `siteId` add, edit or delete `record`? The answer names the rule; a refusal names the site
 * that may edit it and what to do.
 */
export function decideEdit(given: Topology, siteId: SiteId, record: SyncRecord): Result<EditPermission, EditViolation | RecordViolation> {
  // a store record that creates its store on a mirrored primary is decided with that store
  const topology = topologyForRecord(given, siteId, record);
  const site = topology.site(siteId);
  if (!site) {
    return err({
      code: 'edit.unknown-site',
      rule: 'the editing site must exist',
      message: `There is no site ${siteId}.`,
      fix: 'Check the site id (list the sites to see them).',
      editRule: null,
      siteId,
      recordType: record.type,
      recordId: record.id,
      editorSiteId: null,
    });
  }
  const classified = classifyRecord(topology, record);
  if (!classified.ok) return classified;
  const { row, store, homeStore } = classified.value;
  const what = `${row.label} (${record.type} ${record.id})`;
  const here = describeSite(site);

  const allow = (editRule: EditRule, reason: string) => ok<EditPermission>({ editRule, row, reason });
  const refuse = (code: EditViolationCode, editRule: EditRule, rule: string, editor: Site | null, fix: string) =>
    err<EditViolation>({
      code,
      rule,
      message: `${here} may not edit ${what}: ${rule}.`,
      fix,
      editRule,
      siteId,
      recordType: record.type,
      recordId: record.id,
      editorSiteId: editor?.id ?? null,
    });

  /** Seed 000: configured on the Open mSupply central server (and its synchronised central data, once a site is flagged). */
  const omsCentralEdit = () => {
    const oms = topology.omsCentral;
    const rule = `${row.label} is ${row.special.includes('oms-central-configured') ? 'configured' : 'edited'} only on the Open mSupply central server`;
    if (!oms) {
      return refuse(
        'edit.no-oms-central',
        'oms-configured-on-oms-central',
        `${rule}, and no site is flagged as one`,
        null,
        'Flag one site as the Open mSupply central server (with its URL), then edit it there.',
      );
    }
    if (oms.id !== siteId) {
      return refuse(
        'edit.oms-data-not-oms-central',
        'oms-configured-on-oms-central',
        `${rule} (${describeSite(oms)})`,
        oms,
        `Make this change on ${describeSite(oms)}.`,
      );
    }
    return allow('oms-configured-on-oms-central', `${rule}, and this is it.`);
  };

  switch (row.category) {
    case 'central': {
      if (editedOnOmsCentral(row, topology)) return omsCentralEdit();
      const primary = topology.primary;
      const rule = `${row.label} is central data: only the primary server (${describeSite(primary)}) may edit it`;
      if (primary.id !== siteId)
        return refuse(
          'edit.central-data-not-primary',
          'central-on-primary',
          rule,
          primary,
          `Make this change on the primary server, ${describeSite(primary)}.`,
        );
      return allow('central-on-primary', `${rule}, and this is the primary.`);
    }
    case 'central-store': {
      if (editedOnOmsCentral(row, topology)) return omsCentralEdit();
      const primary = topology.primary;
      const owner = store ? describeStore(store) : 'its store';
      const centralised = row.variant === 'centralised';
      const editRule: EditRule = centralised ? 'centralised-on-primary' : 'central-store-on-primary';
      const rule = centralised
        ? `${owner} uses centralised procurement: its ${row.label.toLowerCase()} are entered only on the primary server (${describeSite(primary)})`
        : `${row.label} is central store data of ${owner}: only the primary server (${describeSite(primary)}) may edit it`;
      if (primary.id !== siteId)
        return refuse('edit.central-store-data-not-primary', editRule, rule, primary, `Make this change on the primary server, ${describeSite(primary)}.`);
      return allow(editRule, `${rule}, and this is the primary.`);
    }
    case 'store': {
      // classifyRecord guarantees the owning store of store data.
      const owner = store!;
      const active = topology.site(owner.activeSiteId)!;
      const rule = `${row.label} is store data of ${describeStore(owner)}: only the site where the store is active (${describeSite(active)}) may edit it`;
      if (owner.activeSiteId !== siteId) {
        return refuse(
          'edit.store-not-active-here',
          'store-on-active-site',
          rule,
          active,
          `Make this change on ${describeSite(active)}, or move the store to this site first.`,
        );
      }
      return allow('store-on-active-site', `${rule}, and it is active here.`);
    }
    case 'patient': {
      // classifyRecord guarantees the home store of patient data.
      const home = homeStore!;
      const homeSite = topology.site(home.activeSiteId)!;
      const extra = row.special.includes('home-site-only') ? ' (repeats are processed only on the home site)' : '';
      const rule = `${row.label} is patient data: it is edited only on the site where the patient's home store ${describeStore(home)} is active (${describeSite(homeSite)})${extra}`;
      if (home.activeSiteId !== siteId) {
        return refuse(
          'edit.patient-not-home-site',
          'patient-on-home-site',
          rule,
          homeSite,
          `Make this change on ${describeSite(homeSite)}, or transfer the patient to a home store active here.`,
        );
      }
      if (!topology.hasActiveDispensary(siteId)) {
        return refuse(
          'edit.patient-no-dispensary',
          'patient-on-home-site',
          `${row.label} is patient data: it is edited only in an active dispensary store on the patient's home site (${describeSite(homeSite)}), and no dispensary store is active there`,
          homeSite,
          `On the central, make a store active on ${describeSite(homeSite)} a dispensary (or move the patient's home store to a site with one), then make this change in that dispensary store.`,
        );
      }
      return allow('patient-on-home-site', `${rule}, and this is the home site, with an active dispensary store.`);
    }
    case 'local':
      return allow('local-anywhere', `${row.label} is local data: any site may edit its own, and it never syncs.`);
    case 'sync': {
      const central = topology.central;
      const rule = `${row.label} is sync data: only the central server (${describeSite(central)}) may edit it`;
      if (!hasRole(site, 'central'))
        return refuse('edit.sync-data-not-central', 'sync-on-central', rule, central, `Make this change on the central server, ${describeSite(central)}.`);
      return allow('sync-on-central', `${rule}, and this is the central.`);
    }
    case 'message': {
      const sender = store;
      if (!sender)
        return allow('message-anywhere', `${row.label} without a sending store may be written on any site; they are routed by their receiving store.`);
      const senderSite = topology.site(sender.activeSiteId)!;
      const rule = `${row.label} are sent by their sending store, ${describeStore(sender)}, from the site where it is active (${describeSite(senderSite)})`;
      if (sender.activeSiteId !== siteId)
        return refuse(
          'edit.message-sender-not-here',
          'message-from-active-store',
          rule,
          senderSite,
          `Send the message from ${describeSite(senderSite)}, or from a store active here.`,
        );
      return allow('message-from-active-store', `${rule}, and it is active here.`);
    }
  }
}
