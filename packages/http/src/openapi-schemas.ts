import { z } from 'zod';
import {
  addSiteRequestSchema,
  addStoreRequestSchema,
  adminIssuesResponseSchema,
  adminSiteResponseSchema,
  adminSitesResponseSchema,
  adminStoresResponseSchema,
  adminTokenInfoSchema,
  deleteSiteResponseSchema,
  explainIssueResponseSchema,
  explainRecordResponseSchema,
  issuedTokenSchema,
  issueTokenRequestSchema,
  moveStoreRequestSchema,
  makePrimaryRequestSchema,
  makePrimaryResponseSchema,
  moveStoreResponseSchema,
  patchSiteRequestSchema,
  patchStoreRequestSchema,
  putRecordsRequestSchema,
  putRecordsResponseSchema,
  queuedSchema,
  removeStoreRequestSchema,
  setCopyTypeRequestSchema,
  setPasswordRequestSchema,
  whoamiResponseSchema,
  issueKeyRequestSchema,
  issueRetryResponseSchema,
  syncIssueSchema,
  syncReportSchema,
  revokedTokenSchema,
} from './admin-wire';
import { resyncPatientsResponseSchema, siteExportHeaderSchema, siteExportTrailerSchema } from './admin-export-routes';
import {
  pullRequestSchema,
  pullResponseSchema,
  pushRequestSchema,
  pushResponseSchema,
  siteInfoResponseSchema,
  statusResponseSchema,
  storeSchema,
  syncRecordSchema,
} from './wire';

/** `GET /health`: the central process answers (it does not check the database). */
export const healthResponseSchema = z.object({ status: z.literal('ok') });

/** `GET /admin/v1/tokens`: the startup token first, then the issued ones; never a secret or its digest. */
export const adminTokensResponseSchema = z.array(adminTokenInfoSchema);

/**
 * A store after an admin change (`POST /admin/v1/stores`, `PATCH /admin/v1/stores/:id`, its copies):
 * the store, and per site id how many records the change queued to it.
 */
export const adminStoreChangeResponseSchema = storeSchema.extend({ queued: queuedSchema });

/**
 * The schemas of the OpenAPI document (`components.schemas`), by name: the zod schemas the routes
 * parse requests with, and those the clients (HttpCentralSyncGateway, AdminClient) parse answers
 * with. A route of API_ROUTES names its body and answer here.
 */
export const API_SCHEMAS = {
  Health: healthResponseSchema,
  SyncRecord: syncRecordSchema,
  SiteInfo: siteInfoResponseSchema,
  PushRequest: pushRequestSchema,
  PushResponse: pushResponseSchema,
  PullRequest: pullRequestSchema,
  PullResponse: pullResponseSchema,
  SiteStatus: statusResponseSchema,
  WhoAmI: whoamiResponseSchema,
  AdminTokens: adminTokensResponseSchema,
  IssueTokenRequest: issueTokenRequestSchema,
  IssuedToken: issuedTokenSchema,
  AdminSites: adminSitesResponseSchema,
  AddSiteRequest: addSiteRequestSchema,
  Site: adminSiteResponseSchema,
  PatchSiteRequest: patchSiteRequestSchema,
  SetPasswordRequest: setPasswordRequestSchema,
  DeletedSite: deleteSiteResponseSchema,
  SiteExportHeader: siteExportHeaderSchema,
  SiteExportTrailer: siteExportTrailerSchema,
  Stores: adminStoresResponseSchema,
  AddStoreRequest: addStoreRequestSchema,
  PatchStoreRequest: patchStoreRequestSchema,
  SetCopyTypeRequest: setCopyTypeRequestSchema,
  StoreChange: adminStoreChangeResponseSchema,
  MoveStoreRequest: moveStoreRequestSchema,
  MakePrimaryRequest: makePrimaryRequestSchema,
  MakePrimaryResponse: makePrimaryResponseSchema,
  RemoveStoreRequest: removeStoreRequestSchema,
  MoveStoreResponse: moveStoreResponseSchema,
  ResyncPatientsResponse: resyncPatientsResponseSchema,
  PutRecordsRequest: putRecordsRequestSchema,
  PutRecordsResponse: putRecordsResponseSchema,
  IssuesPage: adminIssuesResponseSchema,
  IssueKeyRequest: issueKeyRequestSchema,
  SyncIssue: syncIssueSchema,
  IssueRetry: issueRetryResponseSchema,
  SyncReport: syncReportSchema,
  RevokedToken: revokedTokenSchema,
  ExplainRecord: explainRecordResponseSchema,
  ExplainIssue: explainIssueResponseSchema,
} as const satisfies Record<string, z.ZodType>;
export type ApiSchemaName = keyof typeof API_SCHEMAS;
