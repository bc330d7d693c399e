/** Roles a site can hold. A site with none of them is a plain remote site. */
export const SITE_ROLES = ['central', 'primary', 'oms-central'] as const;
export type SiteRole = (typeof SITE_ROLES)[number];

/** Kind of installation a site runs (seed 003, "Type": standalone desktop/server or mobile). */
export const DEVICE_TYPES = ['desktop', 'mobile'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** What a store is on a site where it is not active (seed 002, "Store sync-with options"). */
export const COPY_TYPES = ['collector', 'transfer', 'none'] as const;
export type CopyType = (typeof COPY_TYPES)[number];

/** What a store is on a given site: active on exactly one, a copy type everywhere else. */
export const SYNC_TYPES = ['active', 'collector', 'transfer', 'none'] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

/** The data categories of seed 002's data-type table. */
export const DATA_CATEGORIES = ['central', 'central-store', 'store', 'patient', 'local', 'sync', 'message'] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** Special cases the seeds attach to some rows of the data-type table. */
export const SPECIAL_CASES = [
  /** central data sent only to sites with at least one active dispensary store */
  'dispensary-central',
  /** dispensary stores with "include transactions in sync" off keep these away from the central */
  'dispensary-transactions',
  /** new user records are sent to the central server */
  'new-user-to-central',
  /** visibility of new patients: sent to the central, made visible in the home site's dispensaries */
  'new-patient-visibility',
  /** purchase orders entered on the primary when centralised procurement is on */
  'centralised-procurement',
  /** payments entered on the primary when centralised procurement is on */
  'centralised-payment',
  /** the store record itself goes to every site holding a copy of the store */
  'store-record',
  /** repeats are processed only on the patient's home site */
  'home-site-only',
  /** configured only on the Open mSupply central server, sent from there to all sites */
  'oms-central-configured',
  /** also synchronised with the Open mSupply central server */
  'oms-central-synced',
  /** may be one half of a transfer between two stores */
  'transfer',
] as const;
export type SpecialCase = (typeof SPECIAL_CASES)[number];

export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
