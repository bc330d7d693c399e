import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { z } from 'zod';
import { isSyncErrorCode, SyncHttpError } from './error-codes';
import { errorBodySchema, HEADERS, SYNC_API_VERSION } from './wire';

const gzipAsync = promisify(gzip);

export interface JsonHttpClientOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  /** headers sent with every request */
  readonly headers: () => Readonly<Record<string, string>>;
  /** told of every request once it is answered or failed, with the request id it was sent with */
  readonly onExchange?: (exchange: HttpExchange) => void;
}

export interface RequestOptions {
  /**
   * Whether the body is sent gzip-compressed (default true). A small body is better sent as it is:
   * compressing it saves nothing, and its compression waits for the event loop, so a request made
   * just before a long synchronous task (a pipelined pull, before its batch is applied) would leave
   * only after that task.
   */
  readonly compress?: boolean;
  /**
   * A quick check of the answer that accepts only answers the schema accepts and gives back
   * unchanged: when it passes, the answer is used as parsed; when it fails, the schema decides.
   */
  readonly quickCheck?: (json: unknown) => boolean;
}

/**
 * One request of a client and how it ended: `requestId` is the `x-request-id` it was sent with (the
 * central logs it too), `status` the HTTP status (null when none came: network failure, timeout),
 * `error` what the request threw (absent when it succeeded).
 */
export interface HttpExchange {
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error?: unknown;
}

/**
 * JSON over HTTP for the API's clients: gzip-compressed request bodies, gzip accepted for
 * responses, answers checked against their schema, error bodies thrown as SyncHttpError. Network
 * failures and timeouts are thrown as they come (a TypeError from fetch, a TimeoutError).
 */
export class JsonHttpClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: JsonHttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? globalThis.fetch;
    // Called as a plain function: some fetch implementations refuse another `this`.
    this.fetchImpl = (input, init) => fetchImpl(input, init);
  }

  /**
   * Sends one request with a new `x-request-id` (a UUID; the same one when it is sent again on a
   * fresh connection), and tells `onExchange` how it ended.
   */
  async request<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    schema: S,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<z.output<S>> {
    const requestId = randomUUID();
    const started = performance.now();
    const answered = { status: null as number | null };
    const report = (error?: { readonly error: unknown }): void => {
      const durationMs = Math.round(performance.now() - started);
      this.options.onExchange?.({ method, path, requestId, status: answered.status, durationMs, ...(error ?? {}) });
    };
    try {
      const value = await this.exchange(method, path, schema, body, requestId, answered, options);
      report();
      return value;
    } catch (error) {
      report({ error });
      throw error;
    }
  }

  private async exchange<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body: unknown,
    requestId: string,
    answered: { status: number | null },
    options: RequestOptions,
  ): Promise<z.output<S>> {
    const headers: Record<string, string> = {
      ...this.options.headers(),
      accept: 'application/json',
      'accept-encoding': 'gzip',
      [HEADERS.requestId]: requestId,
    };
    let payload: Uint8Array | undefined;
    if (body !== undefined) {
      const json = Buffer.from(JSON.stringify(body), 'utf8');
      headers['content-type'] = 'application/json';
      if (options.compress === false) payload = json;
      else {
        payload = await gzipAsync(json);
        headers['content-encoding'] = 'gzip';
      }
    }
    const send = () =>
      this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    let response: Response;
    try {
      response = await send();
    } catch (error) {
      // A kept-alive connection the server closed just as it was reused: every request of this API
      // is idempotent (pushes carry their batch id), so it is sent once more on a fresh connection.
      if (!isConnectionReset(error)) throw error;
      response = await send();
    }
    answered.status = response.status;
    const text = await response.text();
    if (!response.ok) throw errorFrom(method, path, response.status, text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path}: the central answered HTTP ${response.status} with a body that is not JSON: ${snippet(text)}`);
    }
    if (options.quickCheck?.(json) === true) return json as z.output<S>;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new Error(
        `${method} ${path}: the central's answer does not match sync API version ${SYNC_API_VERSION} (${first ? `${first.path.map(String).join('.') || 'body'}: ${first.message}` : 'invalid'}). Are the site and the central on compatible versions?`,
      );
    }
    return parsed.data;
  }
}

function isConnectionReset(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | null)?.cause;
  return error instanceof TypeError && ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(cause?.code ?? '');
}

function errorFrom(method: string, path: string, status: number, text: string): SyncHttpError {
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page, or an empty body
  }
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success) {
    const { code, message, data } = parsed.data.error;
    if (isSyncErrorCode(code)) return new SyncHttpError(code, status, message, data ?? null);
    return new SyncHttpError('internal', status, `${message} (error code "${code}" is unknown to this client)`, { code, data: data ?? null });
  }
  const code = status === 413 ? 'payload_too_large' : 'internal';
  return new SyncHttpError(code, status, `${method} ${path}: HTTP ${status} without a sitesync error body (a proxy in between?): ${snippet(text)}`, null);
}

function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed === '' ? '(empty body)' : trimmed.length > 200 ? `${trimmed.slice(0, 200)}...` : trimmed;
}
