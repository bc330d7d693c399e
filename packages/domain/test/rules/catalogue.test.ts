import { catalogueRow, DATA_CATEGORIES, OMS_CENTRAL_DATA_TYPES, RECORD_CATALOGUE, RECORD_TYPES, type DataCategory } from '@sitesync/domain';

/**
 * Seed 002's data-type table, transcribed by hand from the seed (label -> category). The catalogue
 * must hold every row with the seed's category.
 */
const SEED_002_TABLE: [string, DataCategory][] = [
  ['Items', 'central'],
  ['Names (except patients)', 'central'],
  ['Merging of items, units and names (except patients)', 'central'],
  ['Groups and departments', 'central'],
  ['Item master lists and programmes', 'central'],
  ['Budgets, periods and accounts', 'central'],
  ['Transaction categories and payment types', 'central'],
  ['Purchase order categories', 'central'],
  ['Custom data', 'central'],
  ['Barcodes', 'central'],
  ['Currencies', 'central'],
  ['Options and properties', 'central'],
  ['Location types', 'central'],
  ['Regimens and indicators', 'central'],
  ['Drug interactions and warnings', 'central'],
  ['Abbreviations and item directions', 'central'],
  ['Diagnoses', 'central'],
  ['Insurance providers', 'central'],
  ['Patient event types', 'central'],
  ['Vaccinators and vaccine settings', 'central'],
  ['Custom reports', 'central'],
  ['Asset settings', 'central'],
  ['Regions', 'central'],
  ['Sites and sync-related preferences', 'sync'],
  ['Dashboard reports', 'sync'],
  ['Messages', 'message'],
  ['Stores and non sync-related store preferences', 'central-store'],
  ['Purchase orders (centralised)', 'central-store'],
  ['Payments (centralised)', 'central-store'],
  ['Visibility of items and names (except patients)', 'central-store'],
  ['Visibility of existing patients and prescribers', 'central-store'],
  ['Visibility of new patients and prescribers', 'patient'],
  ['Patients and prescribers', 'patient'],
  ['Merging of patients and prescribers', 'patient'],
  ['Repeats', 'patient'],
  ['Patient events', 'patient'],
  ['Name notes', 'store'],
  ['Customer stock history and requisitions', 'store'],
  ['Locations', 'store'],
  ['Merging locations', 'store'],
  ['Stock and replenishments', 'store'],
  ['Stocktakes and inventory adjustments', 'store'],
  ['AMC projections', 'store'],
  ['Transactions and prescriptions', 'store'],
  ['Transaction notes', 'store'],
  ['Item notes', 'store'],
  ['Boxes', 'store'],
  ['Goods received', 'store'],
  ['Indicator values', 'store'],
  ['Vaccine monitors/sensors', 'store'],
  ['Assets', 'store'],
  ['Store credentials', 'store'],
  ['Authorisers and authorisation', 'store'],
  ['Purchase orders', 'store'],
  ['Payments', 'store'],
  ['New users', 'store'],
  ['User licenses and existing users', 'local'],
  ['User permissions', 'local'],
  ['Preferences (non-store)', 'local'],
  ['Tenders and quotes', 'local'],
  ['Incoterms and tender conditions', 'local'],
  ['Reference documents', 'local'],
  ['HIS', 'local'],
  ['Drug registration', 'local'],
  ['Labels', 'local'],
  ['Logs', 'local'],
  ['Reminders', 'local'],
  ['Adverse drug reactions', 'local'],
];

describe('record catalogue', () => {
  it('holds all 68 rows of seed 002 and nothing else from it', () => {
    const fromSeed = RECORD_CATALOGUE.filter((r) => r.source === 'seed-002').map((r) => [r.label, r.category]);
    expect(fromSeed).toEqual(SEED_002_TABLE);
  });

  it('has unique row keys and only known categories', () => {
    expect(new Set(RECORD_CATALOGUE.map((r) => r.key)).size).toBe(RECORD_CATALOGUE.length);
    for (const row of RECORD_CATALOGUE) expect(DATA_CATEGORIES).toContain(row.category);
  });

  it('maps every record type to one row, except purchase orders and payments, which have a centralised variant', () => {
    const shared = RECORD_TYPES.filter((t) => RECORD_CATALOGUE.filter((r) => r.recordTypes.includes(t)).length > 1);
    expect(shared).toEqual(['payment', 'purchase_order', 'purchase_order_line']);
    expect(catalogueRow('purchase_order')?.category).toBe('store');
    expect(catalogueRow('purchase_order', { centralised: true })?.category).toBe('central-store');
    expect(catalogueRow('payment', { centralised: true })?.key).toBe('payments-centralised');
    expect(catalogueRow('item', { centralised: true })?.key).toBe('items');
  });

  it.each([
    ['abbreviation', 'dispensary-central'],
    ['item_direction', 'dispensary-central'],
    ['diagnosis', 'dispensary-central'],
    ['insurance_provider', 'dispensary-central'],
    ['patient_event_type', 'dispensary-central'],
    ['transaction', 'dispensary-transactions'],
    ['prescription', 'dispensary-transactions'],
    ['stock_line', 'dispensary-transactions'],
    ['stocktake', 'dispensary-transactions'],
    ['new_user', 'new-user-to-central'],
    ['new_patient_visibility', 'new-patient-visibility'],
    ['store', 'store-record'],
    ['repeat', 'home-site-only'],
    ['transaction', 'transfer'],
    ['requisition', 'transfer'],
    ['goods_received', 'transfer'],
  ])('%s carries the special case %s', (type, special) => {
    expect(catalogueRow(type)?.special).toContain(special);
  });

  it('holds the Open mSupply central data types of seed 000', () => {
    for (const type of OMS_CENTRAL_DATA_TYPES.configured) {
      expect(catalogueRow(type)).toMatchObject({ category: 'central', special: expect.arrayContaining(['oms-central-configured']) });
    }
    for (const type of OMS_CENTRAL_DATA_TYPES.synchronised) {
      expect(catalogueRow(type)?.special).toContain('oms-central-synced');
    }
    expect(RECORD_CATALOGUE.length).toBe(68 + 8);
  });
});
