import { COPY_TYPES, ISSUE_RETRY_OUTCOMES, DEVICE_TYPES, MAX_REQUEST_SIZE, MIN_REQUEST_SIZE, MIN_SYNC_INTERVAL_MINUTES } from '@sitesync/domain';
import { z } from 'zod';
import { ADMIN_ROLES } from './admin-tokens';
import { MAX_RECORDS_PER_REQUEST, siteSchema, storableText, storeSchema, syncRecordSchema } from './wire';

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** A name, code or id an admin gives: trimmed, 1..200 characters, storable on every engine. */
const adminText = storableText(200, { trim: true });

/** A site id in a path or body: a positive whole number. */
export const siteIdSchema = z.int().positive();

export const addSiteRequestSchema = z.object({
  name: adminText,
  /** the clear password; the central stores only scrypt(sha256Hex(password)) */
  password: z.string().min(1).max(1024),
  code: adminText.exactOptional(),
  deviceType: z.enum(DEVICE_TYPES).exactOptional(),
  /** the primary role moves from the current primary to the new site */
  primary: z.boolean().exactOptional(),
  syncIntervalMinutes: z.number().min(MIN_SYNC_INTERVAL_MINUTES).exactOptional(),
});
export type AddSiteRequest = z.infer<typeof addSiteRequestSchema>;

/** An absolute http(s) URL, up to 2,000 characters. */
const httpUrl = z
  .string()
  .max(2000)
  .refine((text) => /^https?:\/\/[^\s]+$/.test(text) && URL.canParse(text), 'an absolute http(s) URL, e.g. "https://oms.example.org:8000"');

/**
 * What an admin may change of a site (seed 003): everything but its id. `omsCentral` gives or takes
 * the Open mSupply central flag (at most one site has it, and it needs `omsCentralUrl`).
 */
export const patchSiteRequestSchema = z
  .object({
    code: adminText.exactOptional(),
    name: adminText.exactOptional(),
    deviceType: z.enum(DEVICE_TYPES).exactOptional(),
    syncIntervalMinutes: z
      .int()
      .min(MIN_SYNC_INTERVAL_MINUTES)
      .max(7 * 24 * 60)
      .exactOptional(),
    requestSize: z.int().min(MIN_REQUEST_SIZE).max(MAX_REQUEST_SIZE).exactOptional(),
    serverUrl: httpUrl.nullable().exactOptional(),
    omsCentral: z.boolean().exactOptional(),
    omsCentralUrl: httpUrl.nullable().exactOptional(),
    /** the centralised procurement preference: the network's on the primary; elsewhere true/false overrides it, null follows the primary */
    centralisedProcurement: z.boolean().nullable().exactOptional(),
  })
  .strict();

/** Moves the primary role (mirrored sync) to an existing site. */
export const makePrimaryRequestSchema = z
  .object({
    /** move although the old primary had changes not pushed, or records still wait for the new one */
    force: z.boolean().default(false),
  })
  .strict();
export type MakePrimaryRequest = z.input<typeof makePrimaryRequestSchema>;
export type PatchSiteRequest = z.infer<typeof patchSiteRequestSchema>;

export const setPasswordRequestSchema = z.object({ password: z.string().min(1).max(1024) });
export type SetPasswordRequest = z.infer<typeof setPasswordRequestSchema>;

export const addStoreRequestSchema = z.object({
  /** defaults to `code` */
  id: adminText.exactOptional(),
  code: adminText,
  name: adminText,
  activeSiteId: siteIdSchema,
  isDispensary: z.boolean().exactOptional(),
  includeTransactionsInSync: z.boolean().exactOptional(),
  /** refused with a pointer to the site preference (`PATCH /admin/v1/sites/:id`): kept here so that the refusal can say so */
  centralisedProcurement: z.boolean().exactOptional(),
  /** the store's copy type on the central (default collector); ignored when the store is active on the central */
  centralCopy: z.enum(['collector', 'transfer']).exactOptional(),
  /** copy types on other sites (e.g. on a mirrored primary); a copy given here for the central wins over `centralCopy` */
  copies: z
    .array(z.object({ siteId: siteIdSchema, type: z.enum(COPY_TYPES) }))
    .max(1000)
    .exactOptional(),
});
export type AddStoreRequest = z.infer<typeof addStoreRequestSchema>;

export const setCopyTypeRequestSchema = z.object({ type: z.enum(COPY_TYPES) });
export type SetCopyTypeRequest = z.infer<typeof setCopyTypeRequestSchema>;

export const patchStoreRequestSchema = z.object({
  name: adminText.exactOptional(),
  isDispensary: z.boolean().exactOptional(),
  includeTransactionsInSync: z.boolean().exactOptional(),
  centralisedProcurement: z.boolean().exactOptional(),
});
export type PatchStoreRequest = z.infer<typeof patchStoreRequestSchema>;

export const moveStoreRequestSchema = z.object({
  toSiteId: siteIdSchema,
  /** what the old site keeps of the store (default none) */
  oldSiteCopy: z.enum(COPY_TYPES).default('none'),
  /** move although the old site still has records waiting for it (what it has not pushed is then refused, and kept as an issue) */
  force: z.boolean().default(false),
});
export type MoveStoreRequest = z.input<typeof moveStoreRequestSchema>;

export const removeStoreRequestSchema = moveStoreRequestSchema.omit({ toSiteId: true });
export type RemoveStoreRequest = z.input<typeof removeStoreRequestSchema>;

/** What a topology change queued: per site id, how many records will be sent to it or dropped from it. */
export const queuedSchema = z.record(z.string(), z.int().min(0));

export const moveStoreResponseSchema = z.object({
  store: storeSchema,
  fromSiteId: z.int(),
  toSiteId: z.int(),
  preconditions: z.array(z.string()),
  queued: queuedSchema,
});
export type MoveStoreResponse = z.infer<typeof moveStoreResponseSchema>;

export const putRecordsRequestSchema = z.object({ records: z.array(syncRecordSchema).max(MAX_RECORDS_PER_REQUEST) });
export type PutRecordsRequest = z.infer<typeof putRecordsRequestSchema>;

export const putRecordsResponseSchema = z.object({ written: z.int().min(0) });
export type PutRecordsResponse = z.infer<typeof putRecordsResponseSchema>;

/** A site as the admin API answers it: never a password or its hash. */
export const adminSiteResponseSchema = siteSchema.extend({
  /** the centralised procurement preference: the network's on the primary; elsewhere an override, or null to follow the primary */
  centralisedProcurement: z.boolean().nullable(),
});

export type AdminSiteJson = z.infer<typeof adminSiteResponseSchema>;

/** A site as admins list it. */
export const adminSiteSchema = adminSiteResponseSchema.extend({
  /** when the site last started a sync cycle, whether or not it caught up (lastSyncedAt) */
  lastConnectedAt: isoDate.nullable(),
  /** not synced for 30 days, or never (always false for the central itself) */
  stale: z.boolean(),
  /** records waiting for the site: its resync queue plus the feed after the cursor it last pulled from */
  waiting: z.int().min(0).nullable(),
});
export type AdminSite = z.infer<typeof adminSiteSchema>;

export const adminSitesResponseSchema = z.object({ sites: z.array(adminSiteSchema) });
export const deleteSiteResponseSchema = z.object({ deleted: adminSiteResponseSchema });
export const adminStoresResponseSchema = z.object({ stores: z.array(storeSchema) });
export const adminStoreResponseSchema = storeSchema;

export const ruleViolationSchema = z.looseObject({ code: z.string(), rule: z.string(), message: z.string(), fix: z.string() });
export type RuleViolationJson = z.infer<typeof ruleViolationSchema>;

export const syncIssueSchema = z.object({
  key: z.string(),
  violation: ruleViolationSchema,
  firstSeenAt: isoDate,
  lastSeenAt: isoDate,
  occurrences: z.int().min(0),
  acknowledgedAt: isoDate.nullable(),
  /** the admin token id that acknowledged it */
  acknowledgedBy: z.string().nullable(),
  /** whether POST /admin/v1/issues/retry can do something for it */
  retryable: z.boolean(),
  /** the site whose push was refused (quarantine issues), or null */
  siteId: z.int().nullable(),
  /** the record the issue is about (its identity and owner; `explain` gives the rest), or null */
  record: z.object({ type: z.string(), id: z.string(), storeId: z.string().nullable(), deleted: z.boolean() }).nullable(),
});
export type SyncIssueJson = z.infer<typeof syncIssueSchema>;

const booleanText = z.enum(['true', 'false']).transform((text) => text === 'true');

/** `GET /admin/v1/issues?prefix=&after=&limit=&code=&acknowledged=`: open issues in key order, a page at a time. */
export const issuesQuerySchema = z.object({
  prefix: z.string().min(1).max(500).exactOptional(),
  after: z.string().min(1).max(1000).exactOptional(),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  /** only issues of this rule code, e.g. push.local-data */
  code: z.string().min(1).max(200).exactOptional(),
  /** only acknowledged (true) or not yet acknowledged (false) issues */
  acknowledged: booleanText.exactOptional(),
});

/** `POST /admin/v1/issues/acknowledge` and `/retry`: the issue's key (keys hold ':' and '/', so not in the path). */
export const issueKeyRequestSchema = z.object({ key: z.string().min(1).max(1000) });

/** What a retry did: resolved, still refused (with the reason now), still open, not retryable (why), not found. */
export const issueRetryResponseSchema = z.object({
  key: z.string(),
  outcome: z.enum(ISSUE_RETRY_OUTCOMES),
  violation: ruleViolationSchema.exactOptional(),
});
export type IssueRetryResponse = z.infer<typeof issueRetryResponseSchema>;

/** A page of issues; `next` is the `after` of the next page, null on the last one. */
export const adminIssuesResponseSchema = z.object({ issues: z.array(syncIssueSchema), next: z.string().nullable() });

/** Issue an admin API token with a role (the secret is answered once). */
export const issueTokenRequestSchema = z.object({
  role: z.enum(ADMIN_ROLES),
  label: adminText,
});
export type IssueTokenRequest = z.infer<typeof issueTokenRequestSchema>;

export const adminTokenInfoSchema = z.object({
  id: z.string(),
  role: z.enum(ADMIN_ROLES),
  label: z.string(),
  createdAt: z.string(),
  rotatedAt: z.string().nullable(),
});
/** An issued (or rotated) token: its secret is shown here only. */
export const issuedTokenSchema = adminTokenInfoSchema.extend({ token: z.string() });
export type AdminTokenInfoJson = z.infer<typeof adminTokenInfoSchema>;
export type IssuedTokenJson = z.infer<typeof issuedTokenSchema>;
export const revokedTokenSchema = z.object({ revoked: z.string() });
export const whoamiResponseSchema = z.object({ role: z.enum(ADMIN_ROLES), tokenId: z.string() });

/** One site's decisions about a record (`GET /admin/v1/records/:type/:id/explain`): the rule id and the reason of each. */
export const siteDecisionSchema = z.object({
  siteId: z.int(),
  siteName: z.string(),
  receives: z.boolean(),
  rule: z.string(),
  reason: z.string(),
  mayEdit: z.boolean(),
  editRule: z.string(),
  editReason: z.string(),
  editFix: z.string().nullable(),
});
export type SiteDecisionJson = z.infer<typeof siteDecisionSchema>;

/** A record's routing columns and every site's decisions, by the rules a pull uses; `problems` hold the configuration to fix. */
export const explainRecordResponseSchema = z.object({
  record: z.object({
    type: z.string(),
    id: z.string(),
    storeId: z.string().nullable(),
    otherPartyStoreId: z.string().nullable(),
    patientId: z.string().nullable(),
    homeStoreId: z.string().nullable(),
    deleted: z.boolean(),
    label: z.string().nullable(),
    category: z.string().nullable(),
  }),
  sites: z.array(siteDecisionSchema),
  problems: z.array(ruleViolationSchema),
});
export type ExplainRecordResponse = z.infer<typeof explainRecordResponseSchema>;

/** `GET /admin/v1/issues/explain?key=`: the key of an open issue (keys hold ':' and '/', so not in the path). */
export const explainIssueQuerySchema = z.object({ key: z.string().min(1).max(1000) });

/** An open issue explained: for a refused push (a quarantine key), the site, the rule, and what would make the central keep it. */
export const explainIssueResponseSchema = z.object({
  key: z.string(),
  kind: z.string(),
  violation: ruleViolationSchema,
  firstSeenAt: isoDate,
  lastSeenAt: isoDate,
  occurrences: z.int().min(0),
  quarantine: z
    .object({
      siteId: z.int(),
      siteName: z.string().nullable(),
      recordType: z.string(),
      recordId: z.string(),
      rule: z.string(),
      code: z.string(),
      ruleText: z.string(),
      message: z.string(),
      fix: z.string(),
      editorSite: z.object({ siteId: z.int(), siteName: z.string().nullable() }).nullable(),
      subject: explainRecordResponseSchema.nullable(),
      now: z.union([
        z.object({ refused: z.literal(false) }),
        z.object({ refused: z.literal(true), code: z.string(), message: z.string(), fix: z.string() }),
        z.null(),
      ]),
      needed: z.array(z.string()),
    })
    .nullable(),
});
export type ExplainIssueResponse = z.infer<typeof explainIssueResponseSchema>;

/** `GET /admin/v1/report`: per site and per store, when it last connected and caught up; stale over `staleAfterDays`. */
export const syncReportSchema = z.object({
  generatedAt: isoDate,
  staleAfterDays: z.number(),
  sites: z.array(
    z.object({
      siteId: z.int(),
      name: z.string(),
      lastConnectedAt: isoDate.nullable(),
      lastSyncedAt: isoDate.nullable(),
      waiting: z.int().min(0).nullable(),
      stale: z.boolean(),
    }),
  ),
  stores: z.array(
    z.object({
      storeId: z.string(),
      code: z.string(),
      name: z.string(),
      siteId: z.int(),
      siteName: z.string(),
      lastSyncedAt: isoDate.nullable(),
      stale: z.boolean(),
    }),
  ),
});
export type SyncReport = z.infer<typeof syncReportSchema>;

export const makePrimaryResponseSchema = z.object({ from: adminSiteResponseSchema, to: adminSiteResponseSchema, queued: queuedSchema });
export type MakePrimaryResponse = z.infer<typeof makePrimaryResponseSchema>;
