import { COPY_TYPES, DEVICE_TYPES, INVALID_TEXT, MAX_REQUEST_SIZE, RECORD_LIMITS, SITE_ROLES, SYNC_TYPES } from '@sitesync/domain';
import { z } from 'zod';

/** The version of the sync API this package speaks; a site sends it in `HEADERS.apiVersion`. */
export const SYNC_API_VERSION = 1;

/** Request headers of the sync API (lower case, as Node sees them). */
export const HEADERS = {
  hardwareId: 'x-sitesync-hardware-id',
  apiVersion: 'x-sitesync-api-version',
  appName: 'x-sitesync-app-name',
  appVersion: 'x-sitesync-app-version',
  /** the id of one request, sent by the clients, echoed by the central and logged on both sides (docs/metrics-and-logs.md) */
  requestId: 'x-request-id',
} as const;

/** The most records one push, pull or admin write carries. */
export const MAX_RECORDS_PER_REQUEST = MAX_REQUEST_SIZE;

/** The greatest cursor: feeds number their changes with signed 64-bit integers. */
export const MAX_CURSOR = 2n ** 63n - 1n;

/** A 64-bit cursor as text: decimal digits only (JSON numbers lose precision above 2^53), at most 2^63 - 1. */
export const cursorSchema = z
  .string()
  .regex(/^\d{1,19}$/, 'a cursor is a whole number written in 1 to 19 decimal digits (at most 2^63 - 1), e.g. "0" or "1234"')
  .refine((text) => !/^\d{1,19}$/.test(text) || BigInt(text) <= MAX_CURSOR, `a cursor is at most ${MAX_CURSOR} (2^63 - 1)`);

/**
 * A record's data: a JSON object, passed on as it was parsed (not copied key by key: a copy would
 * silently drop a "__proto__" key). What it may hold is checked per record by the domain's
 * RECORD_LIMITS, so one bad record is refused alone, not with its whole batch.
 */
const recordDataSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'data is a JSON object, e.g. {"itemId":"bcg"}',
);

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export const syncRecordSchema = z.object({
  type: z.string().min(1).max(RECORD_LIMITS.maxIdLength),
  id: z.string().min(1).max(RECORD_LIMITS.maxIdLength),
  storeId: z.string().max(RECORD_LIMITS.maxIdLength).nullable().exactOptional(),
  otherPartyStoreId: z.string().max(RECORD_LIMITS.maxIdLength).nullable().exactOptional(),
  patientId: z.string().max(RECORD_LIMITS.maxIdLength).nullable().exactOptional(),
  homeStoreId: z.string().max(RECORD_LIMITS.maxIdLength).nullable().exactOptional(),
  deleted: z.boolean().exactOptional(),
  data: recordDataSchema,
});
export type SyncRecordJson = z.infer<typeof syncRecordSchema>;

const recordsSchema = z.array(syncRecordSchema).max(MAX_RECORDS_PER_REQUEST);

/** Text any database stores as sent, 1..`max` characters: no `\u0000`, no unpaired surrogate (trimmed first with `trim`). */
export const storableText = (max: number, options: { readonly trim?: boolean } = {}) =>
  (options.trim === true ? z.string().trim() : z.string())
    .min(1)
    .max(max)
    .refine((text) => !INVALID_TEXT.test(text), 'text holds no \\u0000 and no unpaired surrogate');

export const pushRequestSchema = z.object({
  batchId: storableText(200),
  records: recordsSchema,
  /** the site has more changes to push in this cycle: the central may complete transfers with the last batch */
  more: z.boolean().exactOptional(),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

export const pullRequestSchema = z.object({
  cursor: cursorSchema,
  limit: z.int().min(1).max(MAX_RECORDS_PER_REQUEST),
  /** the last entry of the site's resync queue it applied; absent: the feed only (older clients) */
  queueCursor: cursorSchema.exactOptional(),
  /** true while a data file makes its first pass over the feed: the site's own records come back too */
  reinitialising: z.boolean().exactOptional(),
  /** how many of its own changes the site had not pushed when it started pulling */
  unpushed: z.int().min(0).max(1_000_000_000).exactOptional(),
});
export type PullRequest = z.infer<typeof pullRequestSchema>;

export const refusedRecordSchema = z.object({
  recordType: z.string(),
  recordId: z.string(),
  code: z.string(),
  message: z.string(),
  fix: z.string().exactOptional(),
});

export const pushResponseSchema = z.object({
  batchId: z.string(),
  replayed: z.boolean().exactOptional(),
  accepted: z.int().min(0),
  refused: z.array(refusedRecordSchema),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

export const recordKeySchema = z.object({ type: z.string(), id: z.string() });

export const pullResponseSchema = z.object({
  records: z.array(syncRecordSchema),
  nextCursor: cursorSchema,
  remaining: z.int().min(0),
  /** records the site may no longer hold (sent with nextQueueCursor, when the request had a queueCursor) */
  drops: z.array(recordKeySchema).exactOptional(),
  nextQueueCursor: cursorSchema.exactOptional(),
});
export type PullResponse = z.infer<typeof pullResponseSchema>;

/** A site as JSON (dates as ISO strings, parsed back to Date). Never carries a password or its hash. */
export const siteSchema = z.object({
  id: z.int().positive(),
  code: z.string(),
  name: z.string(),
  roles: z.array(z.enum(SITE_ROLES)),
  omsCentralUrl: z.string().nullable(),
  deviceType: z.enum(DEVICE_TYPES),
  appName: z.string().nullable(),
  appVersion: z.string().nullable(),
  hardwareId: z.string().nullable(),
  syncIntervalMinutes: z.number(),
  requestSize: z.int(),
  serverUrl: z.string().nullable(),
  failedLoginCount: z.int().min(0),
  blocked: z.boolean(),
  lastSyncedAt: isoDate.nullable(),
});
export type SiteJson = z.infer<typeof siteSchema>;

export const storeSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  activeSiteId: z.int(),
  isDispensary: z.boolean(),
  includeTransactionsInSync: z.boolean(),
  centralisedProcurement: z.boolean(),
  copies: z.array(z.object({ siteId: z.int(), type: z.enum(COPY_TYPES) })),
});
export type StoreJson = z.infer<typeof storeSchema>;

export const siteInfoResponseSchema = z.object({
  siteId: z.int().positive(),
  stores: z.array(z.object({ storeId: z.string(), syncType: z.enum(SYNC_TYPES) })),
  omsCentralUrl: z.string().nullable(),
  syncedBefore: z.boolean().exactOptional(),
  topology: z.object({ sites: z.array(siteSchema), stores: z.array(storeSchema) }).exactOptional(),
  topologyVersion: z.string().max(200).exactOptional(),
});
export type SiteInfoResponse = z.infer<typeof siteInfoResponseSchema>;

export const statusQuerySchema = z.object({ cursor: cursorSchema.default('0') });

/** `topologyVersion`: the version of the topology the site holds (from its last site info): `topology` is left out while it is current. */
export const siteInfoQuerySchema = z.object({ topologyVersion: z.string().max(200).optional() });

/** A record the central refused from this site and keeps in quarantine (an open issue). */
export const quarantinedRecordSchema = z.object({
  key: z.string(),
  code: z.string(),
  message: z.string(),
  fix: z.string(),
  occurrences: z.int().min(0),
  lastSeenAt: isoDate,
});
export type QuarantinedRecord = z.infer<typeof quarantinedRecordSchema>;

/** `GET /health`: the Open mSupply central server also says what it is (`role`) and which site it is. */
export const healthResponseSchema = z.looseObject({
  status: z.string(),
  role: z.string().optional(),
  siteId: z.number().optional(),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

export const statusResponseSchema = z.object({
  siteId: z.int().positive(),
  lastSyncedAt: isoDate.nullable(),
  /** records waiting for the site after the cursor it gave */
  waiting: z.int().min(0),
  quarantined: z.array(quarantinedRecordSchema),
});
export type StatusResponse = z.infer<typeof statusResponseSchema>;

/** Every non-2xx answer of the API. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    data: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
