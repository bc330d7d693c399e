import {
  pushConflict,
  type CentralSyncGateway,
  type CopyType,
  type PullRequest,
  type PullResult,
  type PushOutcome,
  type SiteId,
  type SiteInfo,
  type Store,
  type SyncIssue,
  type SyncRecord,
} from '@sitesync/domain';
import {
  adminIssuesResponseSchema,
  adminSiteResponseSchema,
  adminSitesResponseSchema,
  adminStoreResponseSchema,
  adminStoresResponseSchema,
  putRecordsResponseSchema,
  type AddSiteRequest,
  type AddStoreRequest,
  moveStoreResponseSchema,
  type MoveStoreRequest,
  type MoveStoreResponse,
  type PatchStoreRequest,
  type RemoveStoreRequest,
  type AdminSite,
} from './admin-wire';
import type { z } from 'zod';
import { SyncHttpError } from './error-codes';
import { JsonHttpClient } from './http-json-client';
import {
  HEADERS,
  pullResponseSchema,
  pushResponseSchema,
  siteInfoResponseSchema,
  statusResponseSchema,
  SYNC_API_VERSION,
  type SiteJson,
  type StatusResponse,
} from './wire';

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface HttpCentralSyncGatewayOptions {
  /** the central's URL, e.g. https://central.example.org (routes are under /sync/v1) */
  readonly baseUrl: string;
  readonly siteName: string;
  /** sha256Hex(password): the clear password never leaves the site */
  readonly passwordSha256: string;
  /** this device's id: the central binds the site to the first one that logs in */
  readonly hardwareId: string;
  readonly appName?: string;
  readonly appVersion?: string;
  /** default SYNC_API_VERSION */
  readonly apiVersion?: number;
  /** per request, default 60000 */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * The remote site's view of the central over HTTP (`/sync/v1`). Errors answered by the central are
 * thrown as SyncHttpError (code, status, message, data); network failures and timeouts are thrown
 * as they come.
 */
export class HttpCentralSyncGateway implements CentralSyncGateway {
  private readonly http: JsonHttpClient;

  constructor(options: HttpCentralSyncGatewayOptions) {
    const authorization = `Basic ${Buffer.from(`${options.siteName}:${options.passwordSha256}`, 'utf8').toString('base64')}`;
    const headers: Record<string, string> = {
      authorization,
      [HEADERS.hardwareId]: options.hardwareId,
      [HEADERS.apiVersion]: String(options.apiVersion ?? SYNC_API_VERSION),
      ...(options.appName !== undefined ? { [HEADERS.appName]: options.appName } : {}),
      ...(options.appVersion !== undefined ? { [HEADERS.appVersion]: options.appVersion } : {}),
    };
    this.http = new JsonHttpClient({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: () => headers,
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    });
  }

  async siteInfo(): Promise<SiteInfo> {
    return this.http.request('GET', '/sync/v1/site', siteInfoResponseSchema);
  }

  /** A batch id this site used before for other records is answered 409 `batch_conflict`: returned as a PushConflict, not thrown. */
  async push(batchId: string, records: readonly SyncRecord[]): Promise<PushOutcome> {
    try {
      return await this.http.request('POST', '/sync/v1/push', pushResponseSchema, { batchId, records });
    } catch (error) {
      if (!(error instanceof SyncHttpError) || error.code !== 'batch_conflict') throw error;
      return pushConflict(batchId, error.message);
    }
  }

  async pull(cursor: bigint, limit: number, options: Pick<PullRequest, 'queueCursor' | 'reinitialising' | 'unpushed'> = {}): Promise<PullResult> {
    const answer = await this.http.request('POST', '/sync/v1/pull', pullResponseSchema, {
      cursor: cursor.toString(),
      limit,
      ...(options.queueCursor !== undefined ? { queueCursor: options.queueCursor.toString() } : {}),
      ...(options.reinitialising === true ? { reinitialising: true } : {}),
      ...(options.unpushed !== undefined ? { unpushed: options.unpushed } : {}),
    });
    return {
      records: answer.records,
      nextCursor: BigInt(answer.nextCursor),
      remaining: answer.remaining,
      ...(answer.drops !== undefined ? { drops: answer.drops } : {}),
      ...(answer.nextQueueCursor !== undefined ? { nextQueueCursor: BigInt(answer.nextQueueCursor) } : {}),
    };
  }

  /** What waits for this site after `cursor`, and the records the central keeps in quarantine from it. */
  async status(cursor: bigint): Promise<StatusResponse> {
    return this.http.request('GET', `/sync/v1/status?cursor=${cursor.toString()}`, statusResponseSchema);
  }
}

export interface AdminClientOptions {
  readonly baseUrl: string;
  readonly adminToken: string;
  readonly fetch?: typeof fetch;
  /** per request, default 60000 */
  readonly timeoutMs?: number;
}

/** The central's admin API (`/admin/v1`). Error answers are thrown as SyncHttpError. */
export class AdminClient {
  private readonly http: JsonHttpClient;

  constructor(options: AdminClientOptions) {
    const headers = { authorization: `Bearer ${options.adminToken}` };
    this.http = new JsonHttpClient({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: () => headers,
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    });
  }

  async listSites(): Promise<readonly AdminSite[]> {
    return (await this.http.request('GET', '/admin/v1/sites', adminSitesResponseSchema)).sites;
  }

  /** Creates a site with the next free id; the answer never holds the password. */
  async addSite(input: AddSiteRequest): Promise<SiteJson> {
    return this.http.request('POST', '/admin/v1/sites', adminSiteResponseSchema, input);
  }

  async setPassword(id: SiteId, password: string): Promise<SiteJson> {
    return this.http.request('PUT', `/admin/v1/sites/${id}/password`, adminSiteResponseSchema, { password });
  }

  async unblockSite(id: SiteId): Promise<SiteJson> {
    return this.http.request('POST', `/admin/v1/sites/${id}/unblock`, adminSiteResponseSchema, {});
  }

  async resetHardwareId(id: SiteId): Promise<SiteJson> {
    return this.http.request('POST', `/admin/v1/sites/${id}/reset-hardware-id`, adminSiteResponseSchema, {});
  }

  async listStores(): Promise<readonly Store[]> {
    return (await this.http.request('GET', '/admin/v1/stores', adminStoresResponseSchema)).stores;
  }

  async addStore(input: AddStoreRequest): Promise<Store> {
    return this.http.request('POST', '/admin/v1/stores', adminStoreResponseSchema, input);
  }

  async setCopyType(storeId: string, siteId: SiteId, type: CopyType): Promise<Store> {
    return this.http.request('PUT', `/admin/v1/stores/${encodeURIComponent(storeId)}/copies/${siteId}`, adminStoreResponseSchema, { type });
  }

  /** Changes a store's name or sync settings; what the change queues to sites is applied at their next pulls. */
  async patchStore(storeId: string, patch: PatchStoreRequest): Promise<Store> {
    return this.http.request('PATCH', `/admin/v1/stores/${encodeURIComponent(storeId)}`, adminStoreResponseSchema, patch);
  }

  /** Moves a store to another site; refused (precondition_failed) while records still wait for its current site, unless forced. */
  async moveStore(storeId: string, request: MoveStoreRequest): Promise<MoveStoreResponse> {
    return this.http.request('POST', `/admin/v1/stores/${encodeURIComponent(storeId)}/move`, moveStoreResponseSchema, request);
  }

  /** Removes a store from its remote site: it becomes active on the central. */
  async removeStore(storeId: string, request: RemoveStoreRequest = {}): Promise<MoveStoreResponse> {
    return this.http.request('POST', `/admin/v1/stores/${encodeURIComponent(storeId)}/remove`, moveStoreResponseSchema, request);
  }

  /** Writes records as the central site (the edit rules apply: a refusal writes nothing). */
  async putRecords(records: readonly SyncRecord[]): Promise<{ readonly written: number }> {
    return this.http.request('POST', '/admin/v1/records', putRecordsResponseSchema, { records });
  }

  /** Every open issue (or those whose key starts with `prefix`), fetched a page at a time. */
  async issues(prefix?: string): Promise<readonly SyncIssue[]> {
    const all: SyncIssue[] = [];
    for (let after: string | null = null; ;) {
      const query: URLSearchParams = new URLSearchParams({ limit: '1000', ...(prefix ? { prefix } : {}), ...(after !== null ? { after } : {}) });
      const page: z.infer<typeof adminIssuesResponseSchema> = await this.http.request('GET', `/admin/v1/issues?${query.toString()}`, adminIssuesResponseSchema);
      all.push(...page.issues);
      if (page.next === null) return all;
      after = page.next;
    }
  }
}
