import type { DataCategory, SpecialCase } from './vocabulary';

/** One row of seed 002's data-type table (or seed 000's Open mSupply central list). */
export interface CatalogueRow {
  /** stable key of the row */
  readonly key: string;
  /** the row as the seed words it */
  readonly label: string;
  readonly category: DataCategory;
  /** the record types (tables) the row covers */
  readonly recordTypes: readonly string[];
  readonly special: readonly SpecialCase[];
  /** the seed's note, if any */
  readonly notes: string | null;
  readonly source: 'seed-002' | 'seed-000';
  /**
   * Rows that share record types with another row: "centralised" applies when the owning store has
   * centralised procurement on (purchase orders and payments are then central store data).
   */
  readonly variant: 'centralised' | null;
}

type RowSpec = [key: string, label: string, category: DataCategory, recordTypes: string[], special?: SpecialCase[], notes?: string];

function rows(source: CatalogueRow['source'], specs: readonly RowSpec[]): CatalogueRow[] {
  return specs.map(([key, label, category, recordTypes, special = [], notes]) => ({
    key,
    label,
    category,
    recordTypes,
    special,
    notes: notes ?? null,
    source,
    variant: special.includes('centralised-procurement') || special.includes('centralised-payment') ? 'centralised' : null,
  }));
}

const TRANSFER: SpecialCase[] = ['transfer'];
const DISPENSARY_CENTRAL: SpecialCase[] = ['dispensary-central'];

/**
 * Every row of seed 002's data-type table, in the seed's order, then the Open mSupply central
 * server data types of seed 000 that the seed 002 table does not already hold.
 */
export const RECORD_CATALOGUE: readonly CatalogueRow[] = [
  ...rows('seed-002', [
    ['items', 'Items', 'central', ['item', 'item_category', 'unit', 'bom_master'], [], 'Including item-related data e.g. item categories, units, BOM masters'],
    [
      'names',
      'Names (except patients)',
      'central',
      ['name', 'name_category', 'contact', 'name_tag'],
      [],
      'Including name-related data e.g. name categories, contacts, tags',
    ],
    ['central-merges', 'Merging of items, units and names (except patients)', 'central', ['item_merge', 'unit_merge', 'name_merge']],
    ['groups-departments', 'Groups and departments', 'central', ['item_group', 'department']],
    ['master-lists-programmes', 'Item master lists and programmes', 'central', ['master_list', 'master_list_line', 'program']],
    ['budgets-periods-accounts', 'Budgets, periods and accounts', 'central', ['budget', 'period', 'account']],
    ['transaction-categories-payment-types', 'Transaction categories and payment types', 'central', ['transaction_category', 'payment_type']],
    ['purchase-order-categories', 'Purchase order categories', 'central', ['purchase_order_category']],
    ['custom-data', 'Custom data', 'central', ['custom_data']],
    ['barcodes', 'Barcodes', 'central', ['barcode']],
    ['currencies', 'Currencies', 'central', ['currency']],
    ['options-properties', 'Options and properties', 'central', ['option', 'property']],
    ['location-types', 'Location types', 'central', ['location_type']],
    ['regimens-indicators', 'Regimens and indicators', 'central', ['regimen', 'indicator']],
    ['drug-interactions-warnings', 'Drug interactions and warnings', 'central', ['drug_interaction', 'warning']],
    ['abbreviations-directions', 'Abbreviations and item directions', 'central', ['abbreviation', 'item_direction'], DISPENSARY_CENTRAL, 'Dispensary data'],
    ['diagnoses', 'Diagnoses', 'central', ['diagnosis'], DISPENSARY_CENTRAL, 'Dispensary data'],
    ['insurance-providers', 'Insurance providers', 'central', ['insurance_provider'], DISPENSARY_CENTRAL, 'Dispensary data'],
    ['patient-event-types', 'Patient event types', 'central', ['patient_event_type'], DISPENSARY_CENTRAL, 'Dispensary data'],
    ['vaccinators-vaccine-settings', 'Vaccinators and vaccine settings', 'central', ['vaccinator', 'vaccine_setting']],
    ['custom-reports', 'Custom reports', 'central', ['custom_report'], [], 'Standard reports are regenerated on each upgrade'],
    ['asset-settings', 'Asset settings', 'central', ['asset_setting']],
    ['regions', 'Regions', 'central', ['region']],
    [
      'sites-sync-preferences',
      'Sites and sync-related preferences',
      'sync',
      ['site', 'store_sync_settings'],
      [],
      'Changes on the central server indirectly update related records on remote sites',
    ],
    ['dashboard-reports', 'Dashboard reports', 'sync', ['dashboard_report']],
    ['messages', 'Messages', 'message', ['message'], [], 'Depends on sending and/or receiving store (which can be blank)'],
    ['stores', 'Stores and non sync-related store preferences', 'central-store', ['store', 'store_preference'], ['store-record']],
    [
      'purchase-orders-centralised',
      'Purchase orders (centralised)',
      'central-store',
      ['purchase_order', 'purchase_order_line'],
      ['centralised-procurement', 'transfer'],
    ],
    ['payments-centralised', 'Payments (centralised)', 'central-store', ['payment'], ['centralised-payment']],
    ['item-name-visibility', 'Visibility of items and names (except patients)', 'central-store', ['item_store_join', 'name_store_join']],
    ['existing-patient-visibility', 'Visibility of existing patients and prescribers', 'central-store', ['patient_visibility']],
    [
      'new-patient-visibility',
      'Visibility of new patients and prescribers',
      'patient',
      ['new_patient_visibility'],
      ['new-patient-visibility'],
      'New visibility records sent to central server',
    ],
    [
      'patients-prescribers',
      'Patients and prescribers',
      'patient',
      ['patient', 'prescriber', 'patient_medication', 'insurance_policy'],
      [],
      'Including patient-related data e.g. PMR, insurance policies',
    ],
    ['patient-merges', 'Merging of patients and prescribers', 'patient', ['patient_merge', 'prescriber_merge']],
    ['repeats', 'Repeats', 'patient', ['repeat'], ['home-site-only'], 'Dispensary data'],
    ['patient-events', 'Patient events', 'patient', ['patient_event'], [], 'Dispensary data'],
    ['name-notes', 'Name notes', 'store', ['name_note']],
    [
      'customer-stock-history-requisitions',
      'Customer stock history and requisitions',
      'store',
      ['customer_stock_history', 'requisition', 'requisition_line'],
      TRANSFER,
    ],
    ['locations', 'Locations', 'store', ['location']],
    ['location-merges', 'Merging locations', 'store', ['location_merge']],
    ['stock-replenishments', 'Stock and replenishments', 'store', ['stock_line', 'replenishment'], ['dispensary-transactions']],
    [
      'stocktakes-adjustments',
      'Stocktakes and inventory adjustments',
      'store',
      ['stocktake', 'stocktake_line', 'inventory_adjustment'],
      ['dispensary-transactions'],
    ],
    ['amc-projections', 'AMC projections', 'store', ['amc_projection']],
    [
      'transactions-prescriptions',
      'Transactions and prescriptions',
      'store',
      ['transaction', 'transaction_line', 'prescription', 'backorder', 'build'],
      ['dispensary-transactions', 'transfer'],
      'Including other transaction-related data e.g. backorders, builds',
    ],
    ['transaction-notes', 'Transaction notes', 'store', ['transaction_note']],
    ['item-notes', 'Item notes', 'store', ['item_note']],
    ['boxes', 'Boxes', 'store', ['box']],
    ['goods-received', 'Goods received', 'store', ['goods_received', 'goods_received_line'], TRANSFER],
    ['indicator-values', 'Indicator values', 'store', ['indicator_value']],
    ['vaccine-monitors', 'Vaccine monitors/sensors', 'store', ['sensor', 'temperature_log']],
    ['assets', 'Assets', 'store', ['asset'], ['oms-central-synced']],
    ['store-credentials', 'Store credentials', 'store', ['store_credential']],
    ['authorisers', 'Authorisers and authorisation', 'store', ['authoriser', 'authorisation']],
    [
      'purchase-orders',
      'Purchase orders',
      'store',
      ['purchase_order', 'purchase_order_line'],
      TRANSFER,
      'Except for centralised procurement or supervisor-mode ordering',
    ],
    ['payments', 'Payments', 'store', ['payment'], [], 'Except for centralised payments'],
    ['new-users', 'New users', 'store', ['new_user'], ['new-user-to-central'], 'New user records sent to central server'],
    ['users-licenses', 'User licenses and existing users', 'local', ['user', 'user_license']],
    ['user-permissions', 'User permissions', 'local', ['user_permission']],
    ['preferences', 'Preferences (non-store)', 'local', ['preference'], [], 'Except for a few special cases which are explicitly synced'],
    ['tenders-quotes', 'Tenders and quotes', 'local', ['tender', 'quote']],
    ['incoterms', 'Incoterms and tender conditions', 'local', ['incoterm', 'tender_condition']],
    ['reference-documents', 'Reference documents', 'local', ['reference_document']],
    ['his', 'HIS', 'local', ['his_record']],
    ['drug-registration', 'Drug registration', 'local', ['drug_registration']],
    ['labels', 'Labels', 'local', ['label']],
    ['logs', 'Logs', 'local', ['log']],
    ['reminders', 'Reminders', 'local', ['reminder']],
    ['adverse-drug-reactions', 'Adverse drug reactions', 'local', ['adverse_drug_reaction']],
  ]),
  ...rows('seed-000', [
    ['item-pack-variants', 'Item Pack Variants', 'central', ['item_pack_variant'], ['oms-central-configured'], 'Configured in Open mSupply central server'],
    ['asset-catalogue', 'Asset Catalogue', 'central', ['asset_catalogue_item'], ['oms-central-configured'], 'Configured in Open mSupply central server'],
    [
      'asset-status-reasons',
      'Asset Status Reasons',
      'central',
      ['asset_status_reason'],
      ['oms-central-configured'],
      'Configured in Open mSupply central server',
    ],
    [
      'demographic-indicators',
      'Demographics Indicators',
      'central',
      ['demographic_indicator'],
      ['oms-central-configured'],
      'Configured in Open mSupply central server',
    ],
    ['files', 'Files', 'store', ['sync_file_reference'], ['oms-central-synced'], 'Synchronises with Open mSupply central server'],
    ['asset-logs', 'Asset Logs', 'store', ['asset_log'], ['oms-central-synced'], 'Synchronises with Open mSupply central server'],
    ['store-properties', 'Store Properties', 'central-store', ['store_property'], ['oms-central-synced'], 'Synchronises with Open mSupply central server'],
    [
      'immunisation-programs',
      'Immunization Programs and Vaccine Courses',
      'central',
      ['immunisation_program', 'vaccine_course'],
      ['oms-central-synced'],
      'Synchronises with Open mSupply central server',
    ],
  ]),
];

/** Seed 000: the Open mSupply central server's data types, as record types of the catalogue. */
export const OMS_CENTRAL_DATA_TYPES = {
  configured: ['item_pack_variant', 'asset_catalogue_item', 'asset_status_reason', 'demographic_indicator'],
  synchronised: ['asset', 'sync_file_reference', 'asset_log', 'store_property', 'immunisation_program', 'vaccine_course'],
} as const;

const rowsByType = new Map<string, CatalogueRow[]>();
for (const row of RECORD_CATALOGUE) {
  for (const type of row.recordTypes) rowsByType.set(type, [...(rowsByType.get(type) ?? []), row]);
}

/** The record types of the catalogue rows configured on or synchronised with the Open mSupply central server (seed 000). */
const OMS_TYPES: ReadonlySet<string> = new Set(
  RECORD_CATALOGUE.filter((row) => row.special.includes('oms-central-configured') || row.special.includes('oms-central-synced')).flatMap(
    (row) => row.recordTypes,
  ),
);

/** Whether a record type is Open mSupply central data (configured or synchronised there, seed 000). */
export function isOmsCentralType(type: string): boolean {
  return OMS_TYPES.has(type);
}

/** Every record type the catalogue knows, sorted. */
export const RECORD_TYPES: readonly string[] = [...rowsByType.keys()].sort();

export function isKnownRecordType(type: string): boolean {
  return rowsByType.has(type);
}

/**
 * The catalogue row for a record type. Purchase orders and payments have two rows: pass
 * `centralised: true` when the owning store has centralised procurement on.
 */
export function catalogueRow(type: string, options: { centralised?: boolean } = {}): CatalogueRow | undefined {
  const candidates = rowsByType.get(type);
  if (!candidates) return undefined;
  const wanted = options.centralised ? 'centralised' : null;
  return candidates.find((r) => r.variant === wanted) ?? candidates.find((r) => r.variant === null);
}

export function rowByKey(key: string): CatalogueRow | undefined {
  return RECORD_CATALOGUE.find((r) => r.key === key);
}
