import { createHash } from 'node:crypto';
import { type CopyType, type SiteId, type Store, type SyncRecord } from '@sitesync/domain';
import {
  adminIssuesResponseSchema,
  issueRetryResponseSchema,
  syncIssueSchema,
  adminTokenInfoSchema,
  issuedTokenSchema,
  revokedTokenSchema,
  type AdminTokenInfoJson,
  type IssuedTokenJson,
  syncReportSchema,
  type SyncReport,
  type IssueRetryResponse,
  type SyncIssueJson,
  adminSiteResponseSchema,
  deleteSiteResponseSchema,
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
  type PatchSiteRequest,
  type RemoveStoreRequest,
  type AdminSite,
  type AdminSiteJson,
  makePrimaryResponseSchema,
  type MakePrimaryResponse,
} from './admin-wire';
import type { z } from 'zod';
import {
  resyncPatientsResponseSchema,
  siteExportHeaderSchema,
  siteExportTrailerSchema,
  type ResyncPatientsResponse,
  type SiteExportHeaderJson,
} from './admin-export-routes';
import { explainIssueResponseSchema, explainRecordResponseSchema, type ExplainIssueResponse, type ExplainRecordResponse } from './admin-wire';
import { isSyncErrorCode, SyncHttpError } from './error-codes';
import { JsonHttpClient } from './http-json-client';
import { errorBodySchema, SYNC_API_VERSION } from './wire';

import type { AdminRole } from './admin-tokens';
import { DEFAULT_TIMEOUT_MS } from './http-central-sync-gateway';

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

  constructor(private readonly options: AdminClientOptions) {
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
  async addSite(input: AddSiteRequest): Promise<AdminSiteJson> {
    return this.http.request('POST', '/admin/v1/sites', adminSiteResponseSchema, input);
  }

  /** Changes a site's editable fields (seed 003); the topology rules apply (422 with the violations). */
  async patchSite(id: SiteId, patch: PatchSiteRequest): Promise<AdminSiteJson> {
    return this.http.request('PATCH', `/admin/v1/sites/${id}`, adminSiteResponseSchema, patch);
  }

  /** Deletes a site: refused while stores are active on it, and for the central's own site. */
  async deleteSite(id: SiteId): Promise<{ readonly deleted: AdminSiteJson }> {
    return this.http.request('DELETE', `/admin/v1/sites/${id}`, deleteSiteResponseSchema);
  }

  async setPassword(id: SiteId, password: string): Promise<AdminSiteJson> {
    return this.http.request('PUT', `/admin/v1/sites/${id}/password`, adminSiteResponseSchema, { password });
  }

  async unblockSite(id: SiteId): Promise<AdminSiteJson> {
    return this.http.request('POST', `/admin/v1/sites/${id}/unblock`, adminSiteResponseSchema, {});
  }

  async resetHardwareId(id: SiteId): Promise<AdminSiteJson> {
    return this.http.request('POST', `/admin/v1/sites/${id}/reset-hardware-id`, adminSiteResponseSchema, {});
  }

  /** Moves the primary role (mirrored sync) to site `id`; refused while the old primary has unpushed changes or records wait for the new one, unless `force`. */
  async makePrimary(id: SiteId, options: { readonly force?: boolean } = {}): Promise<MakePrimaryResponse> {
    return this.http.request('POST', `/admin/v1/sites/${id}/make-primary`, makePrimaryResponseSchema, { force: options.force ?? false });
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

  /** Queues the records of every patient visible in the store (or at home there) again to the sites that hold them. */
  async resyncPatients(storeId: string): Promise<ResyncPatientsResponse> {
    return this.http.request('POST', `/admin/v1/stores/${encodeURIComponent(storeId)}/resync-patients`, resyncPatientsResponseSchema, {});
  }

  /**
   * Streams the export of a site (`GET /admin/v1/sites/:id/export`): each line, without its newline,
   * goes to `writeLine` in order (awaited: a slow writer slows the download). The first line (the
   * header) and the last (the count and checksum of the lines before it) are checked: an export cut
   * short, or one that does not match its checksum, throws after the lines received were written. The
   * timeout applies to each wait for data, not to the whole download.
   */
  async exportSite(siteId: SiteId, writeLine: (line: string) => void | Promise<void>): Promise<{ header: SiteExportHeaderJson; records: number }> {
    const path = `/admin/v1/sites/${siteId}/export`;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let stop: () => void = () => undefined;
    const waitAtMost = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new DOMException(`GET ${path}: no data from the central for ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    };
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    waitAtMost();
    try {
      const response = await fetchImpl(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.options.adminToken}`, accept: 'application/x-ndjson', 'accept-encoding': 'gzip' },
        signal: controller.signal,
      });
      if (!response.ok) throw streamError(path, response.status, await response.text());
      if (!response.body) throw new Error(`GET ${path}: the central answered without a body`);
      let header: SiteExportHeaderJson | null = null;
      let trailer: z.infer<typeof siteExportTrailerSchema> | null = null;
      let records = 0;
      let lineNumber = 0;
      const digest = createHash('sha256');
      const take = async (line: string): Promise<void> => {
        lineNumber++;
        if (trailer) throw new Error(`GET ${path}: line ${lineNumber} comes after the export's last line: the answer is not a site export`);
        if (lineNumber === 1) header = parseLine(path, lineNumber, line, siteExportHeaderSchema, 'the header');
        else if (line.startsWith('{"end":')) trailer = parseLine(path, lineNumber, line, siteExportTrailerSchema, 'the last line');
        else records++;
        if (!trailer) digest.update(`${line}\n`, 'utf8');
        await writeLine(line);
      };
      const decoder = new TextDecoder('utf-8', { fatal: true });
      const chunks = (response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      stop = () => void chunks.return?.()?.catch(() => undefined);
      let pending = '';
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await chunks.next();
          pending += next.done ? decoder.decode() : decoder.decode(next.value, { stream: true });
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          throw new Error(`GET ${path}: the export was cut short after ${records} records (${why}): export again`, { cause: error });
        }
        if (next.done) break;
        waitAtMost();
        let start = 0;
        for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
          await take(pending.slice(start, end));
          start = end + 1;
        }
        pending = pending.slice(start);
      }
      if (pending !== '') await take(pending);
      const last = trailer as z.infer<typeof siteExportTrailerSchema> | null;
      if (!header || !last) {
        throw new Error(
          `GET ${path}: the export ended after ${records} records without its last line (the central failed or the connection broke): export again`,
        );
      }
      if (last.records !== records || last.sha256 !== digest.digest('hex')) {
        throw new Error(
          `GET ${path}: the export says it holds ${last.records} records, but the ${records} that arrived do not match its checksum: export again`,
        );
      }
      return { header, records };
    } finally {
      clearTimeout(timer);
      // a download given up (a writer failed) is cancelled and its connection closed; after the end, nothing to stop
      stop();
      controller.abort();
    }
  }

  /** Every open issue (or those whose key starts with `prefix`, of a code, acknowledged or not), fetched a page at a time. */
  async issues(filter: { readonly prefix?: string; readonly code?: string; readonly acknowledged?: boolean } = {}): Promise<readonly SyncIssueJson[]> {
    const all: SyncIssueJson[] = [];
    for (let after: string | null = null; ;) {
      const query: URLSearchParams = new URLSearchParams({
        limit: '1000',
        ...(filter.prefix ? { prefix: filter.prefix } : {}),
        ...(filter.code ? { code: filter.code } : {}),
        ...(filter.acknowledged !== undefined ? { acknowledged: String(filter.acknowledged) } : {}),
        ...(after !== null ? { after } : {}),
      });
      const page: z.infer<typeof adminIssuesResponseSchema> = await this.http.request('GET', `/admin/v1/issues?${query.toString()}`, adminIssuesResponseSchema);
      all.push(...page.issues);
      if (page.next === null) return all;
      after = page.next;
    }
  }

  /** The admin API's tokens (never their secrets). */
  async listTokens(): Promise<readonly AdminTokenInfoJson[]> {
    return this.http.request('GET', '/admin/v1/tokens', adminTokenInfoSchema.array());
  }

  /** Issues a token with a role; its secret is in this answer only. */
  async issueToken(role: AdminRole, label: string): Promise<IssuedTokenJson> {
    return this.http.request('POST', '/admin/v1/tokens', issuedTokenSchema, { role, label });
  }

  /** A new secret for an issued token (same id and role); the old one stops working at once. */
  async rotateToken(id: string): Promise<IssuedTokenJson> {
    return this.http.request('POST', `/admin/v1/tokens/${encodeURIComponent(id)}/rotate`, issuedTokenSchema);
  }

  /** Revokes an issued token. */
  async revokeToken(id: string): Promise<void> {
    await this.http.request('DELETE', `/admin/v1/tokens/${encodeURIComponent(id)}`, revokedTokenSchema);
  }

  /** The sync report: per site and per store, last connected, last synced, waiting, stale. */
  async report(): Promise<SyncReport> {
    return this.http.request('GET', '/admin/v1/report', syncReportSchema);
  }

  /** Marks an open issue acknowledged (it stays open until its problem goes away). */
  async acknowledgeIssue(key: string): Promise<SyncIssueJson> {
    return this.http.request('POST', '/admin/v1/issues/acknowledge', syncIssueSchema, { key });
  }

  /** Retries an issue: a refused record checked again now, or the transfer processing run again. */
  async retryIssue(key: string): Promise<IssueRetryResponse> {
    return this.http.request('POST', '/admin/v1/issues/retry', issueRetryResponseSchema, { key });
  }

  /** For a record the central holds, every site's decision (receives it, may edit it) with the rule and the reason; not_found when it holds none. */
  async explain(type: string, id: string): Promise<ExplainRecordResponse> {
    return this.http.request('GET', `/admin/v1/records/${encodeURIComponent(type)}/${encodeURIComponent(id)}/explain`, explainRecordResponseSchema);
  }

  /** An open issue explained: for a refused push, the site, the rule, and what would make the central keep it. */
  async explainIssue(key: string): Promise<ExplainIssueResponse> {
    return this.http.request('GET', `/admin/v1/issues/explain?${new URLSearchParams({ key }).toString()}`, explainIssueResponseSchema);
  }
}

/** One line of a streamed answer, checked against its schema. */
function parseLine<S extends z.ZodType>(path: string, lineNumber: number, line: string, schema: S, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`GET ${path}: line ${lineNumber} (${what}) is not JSON: the answer is not a site export`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(
      `GET ${path}: line ${lineNumber} (${what}) is not as sync API version ${SYNC_API_VERSION} writes it (${first ? `${first.path.map(String).join('.') || 'line'}: ${first.message}` : 'invalid'}). Are the admin tool and the central on compatible versions?`,
    );
  }
  return parsed.data;
}

/** An error answer of a streamed route, as the JSON client maps it. */
function streamError(path: string, status: number, text: string): SyncHttpError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // a proxy's page, or no body
  }
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success && isSyncErrorCode(parsed.data.error.code)) {
    return new SyncHttpError(parsed.data.error.code, status, parsed.data.error.message, parsed.data.error.data ?? null);
  }
  const shown = text.trim() === '' ? '(empty body)' : text.trim().slice(0, 200);
  return new SyncHttpError('internal', status, `GET ${path}: HTTP ${status} without a sitesync error body (a proxy in between?): ${shown}`, null);
}
