import { pushConflict, type CentralSyncGateway, type PullRequest, type PullResult, type PushOutcome, type SiteInfo, type SyncRecord } from '@sitesync/domain';
import { SyncHttpError } from './error-codes';
import { JsonHttpClient, type HttpExchange } from './http-json-client';
import { isPlainPullResponse } from './pull-response-check';
import {
  healthResponseSchema,
  type HealthResponse,
  HEADERS,
  pullResponseSchema,
  pushResponseSchema,
  siteInfoResponseSchema,
  statusResponseSchema,
  SYNC_API_VERSION,
  type StatusResponse,
} from './wire';

export type { HttpExchange } from './http-json-client';

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
  /**
   * told of every request once it is answered or failed, with the `x-request-id` it was sent with
   * (a new UUID per request, logged by the central too): log it to find both sides' lines of one request
   */
  readonly onExchange?: (exchange: HttpExchange) => void;
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
      ...(options.onExchange !== undefined ? { onExchange: options.onExchange } : {}),
    });
  }

  async siteInfo(options: { readonly topologyVersion?: string } = {}): Promise<SiteInfo> {
    const query = options.topologyVersion === undefined ? '' : `?topologyVersion=${encodeURIComponent(options.topologyVersion)}`;
    return this.http.request('GET', `/sync/v1/site${query}`, siteInfoResponseSchema);
  }

  /** A batch id this site used before for other records is answered 409 `batch_conflict`: returned as a PushConflict, not thrown. */
  async push(batchId: string, records: readonly SyncRecord[], options: { readonly more?: boolean } = {}): Promise<PushOutcome> {
    try {
      return await this.http.request('POST', '/sync/v1/push', pushResponseSchema, { batchId, records, ...(options.more === true ? { more: true } : {}) });
    } catch (error) {
      if (!(error instanceof SyncHttpError) || error.code !== 'batch_conflict') throw error;
      return pushConflict(batchId, error.message);
    }
  }

  async pull(cursor: bigint, limit: number, options: Pick<PullRequest, 'queueCursor' | 'reinitialising' | 'unpushed'> = {}): Promise<PullResult> {
    const answer = await this.http.request(
      'POST',
      '/sync/v1/pull',
      pullResponseSchema,
      {
        cursor: cursor.toString(),
        limit,
        ...(options.queueCursor !== undefined ? { queueCursor: options.queueCursor.toString() } : {}),
        ...(options.reinitialising === true ? { reinitialising: true } : {}),
        ...(options.unpushed !== undefined ? { unpushed: options.unpushed } : {}),
      },
      // a few bytes, sent at once: the pipelined pull leaves before the batch before it is applied;
      // the answer, thousands of records, checked in one pass when it is plainly well formed
      { compress: false, quickCheck: isPlainPullResponse },
    );
    return {
      records: answer.records,
      nextCursor: BigInt(answer.nextCursor),
      remaining: answer.remaining,
      ...(answer.drops !== undefined ? { drops: answer.drops } : {}),
      ...(answer.nextQueueCursor !== undefined ? { nextQueueCursor: BigInt(answer.nextQueueCursor) } : {}),
    };
  }

  /** A request made before this is called has been written out when it resolves (fetch writes it in a later turn of the event loop). */
  dispatched(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** `GET /health`: what the server says it is (the Open mSupply central server names its role and site). */
  async health(): Promise<HealthResponse> {
    return this.http.request('GET', '/health', healthResponseSchema);
  }

  /** What waits for this site after `cursor`, and the records the central keeps in quarantine from it. */
  async status(cursor: bigint): Promise<StatusResponse> {
    return this.http.request('GET', `/sync/v1/status?cursor=${cursor.toString()}`, statusResponseSchema);
  }
}
