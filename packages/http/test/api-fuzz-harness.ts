/**
 * The machinery of the API fuzz suite (api-fuzz.test.ts): JSON built token by token (so that a body
 * can hold `__proto__` keys, raw number tokens and lone surrogates), a raw HTTP/1.1 client over a
 * socket (so that a body can hold any bytes and a header any value), centrals listening on a real
 * port, snapshots of the stored records, the checks every answer must pass, and the findings.
 */
import { isUtf8 } from 'node:buffer';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { startCentralServer } from '@sitesync/central-server';
import { RECORD_LIMITS, type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import { createInMemoryStorage, ManualClock, seedExampleTopology } from '@sitesync/testkit';
import { pino } from 'pino';
import { createCentralApp, ERROR_STATUS, sha256Hex, SYNC_ERROR_CODES, type CentralAppDeps, type SyncErrorCode } from '../src/index';
import { ADMIN_TOKEN, CENTRAL, headersOf, passwordOf, REMOTE1, REMOTE2, testHasher } from './central-test-setup';

// ---- JSON, token by token ------------------------------------------------------------------

/** Text put into the JSON as it is: a number token such as `1e400`, or anything that is not JSON. */
export class JRaw {
  constructor(readonly text: string) {}
}

/** An object as a list of entries: keys may repeat and may be `__proto__`. */
export class JObj {
  constructor(readonly entries: readonly (readonly [string, J])[]) {}
}

export type J = null | boolean | number | string | JRaw | JObj | readonly J[];

export function obj(fields: Record<string, J>): JObj {
  return new JObj(Object.entries(fields));
}

/** The JSON text of a value (strings through JSON.stringify: a lone surrogate becomes `\udxxx`). */
export function jsonText(value: J): string {
  if (value === null) return 'null';
  if (value instanceof JRaw) return value.text;
  if (value instanceof JObj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : String(value);
  return JSON.stringify(value);
}

/** A value nested `depth` levels deep (objects and arrays alternating), as text: no recursion. */
export function nestedText(depth: number, leaf = '1'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i += 1) {
    open += i % 2 === 0 ? '{"d":' : '[';
    close = (i % 2 === 0 ? '}' : ']') + close;
  }
  return open + leaf + close;
}

/** A value for comparing what was sent with what is stored: key order ignored, -0 is 0, non-finite numbers kept apart from null. */
export function canonical(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value === 0 ? 0 : value) : `#${String(value)}`;
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
      const record = value as Record<string, unknown>;
      return `{${Object.keys(record)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
        .join(',')}}`;
    }
    default:
      return `#${typeof value}`;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function preview(text: string, max = 240): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}... (${text.length} chars)` : escaped;
}

export function bytesPreview(bytes: Buffer, max = 240): string {
  if (isUtf8(bytes)) return preview(bytes.toString('utf8'), max);
  const hex = [...bytes.subarray(0, Math.min(bytes.length, max / 3))].map((b) =>
    b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
  );
  return `${hex.join('')}${bytes.length > max / 3 ? `... (${bytes.length} bytes)` : ''}`;
}

// ---- the documented record limits (docs/sync-api.md, "Record limits") ------------------------

const ROUTING_FIELDS = ['storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId'] as const;
// eslint-disable-next-line no-control-regex
const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Which documented record limit a record (already of the documented shape) breaks, or null. Written from the docs, not from the central's code. */
export function brokenRecordLimit(record: Record<string, unknown>): string | null {
  for (const field of ['type', 'id', ...ROUTING_FIELDS]) {
    const value = record[field];
    if (typeof value === 'string' && INVALID_TEXT.test(value)) return `\\u0000 or an unpaired surrogate in ${field}`;
  }
  let values = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: record['data'], depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (depth > RECORD_LIMITS.maxDepth) return `data nested deeper than ${RECORD_LIMITS.maxDepth} levels`;
    const entries: [string | null, unknown][] = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value as object);
    values += entries.length;
    if (values > RECORD_LIMITS.maxValues) return `more than ${RECORD_LIMITS.maxValues} keys and array elements`;
    for (const [key, child] of entries) {
      if (key !== null) {
        if (key === '__proto__') return 'a "__proto__" key in data';
        if (INVALID_TEXT.test(key)) return '\\u0000 or an unpaired surrogate in a key';
        if (key.length > RECORD_LIMITS.maxStringLength) return `a key longer than ${RECORD_LIMITS.maxStringLength} characters`;
      }
      if (typeof child === 'string') {
        if (INVALID_TEXT.test(child)) return '\\u0000 or an unpaired surrogate in a string';
        if (child.length > RECORD_LIMITS.maxStringLength) return `a string longer than ${RECORD_LIMITS.maxStringLength} characters`;
      } else if (typeof child === 'number') {
        if (!Number.isFinite(child)) return 'a number that is not finite';
      } else if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, depth: depth + 1 });
      }
    }
  }
  if (JSON.stringify(record).length > RECORD_LIMITS.maxRecordChars) return `a record larger than ${RECORD_LIMITS.maxRecordChars} characters of JSON`;
  return null;
}

/** A record of the documented shape (`syncRecordSchema` as docs/sync-api.md describes it). */
export function hasRecordShape(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const idLike = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= RECORD_LIMITS.maxIdLength;
  if (!idLike(value['type']) || !idLike(value['id'])) return false;
  for (const field of ROUTING_FIELDS) {
    if (!Object.hasOwn(value, field)) continue;
    const v = value[field];
    if (v !== null && !(typeof v === 'string' && v.length <= RECORD_LIMITS.maxIdLength)) return false;
  }
  if (Object.hasOwn(value, 'deleted') && typeof value['deleted'] !== 'boolean') return false;
  return isPlainObject(value['data']);
}

// ---- a raw HTTP/1.1 client -------------------------------------------------------------------

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  /** in this order; a Buffer value is sent as its bytes */
  readonly headers?: readonly (readonly [string, string | Buffer])[];
  readonly body?: Buffer;
  /** false: no Content-Length header is added for the body */
  readonly contentLength?: boolean;
  /** the whole request as bytes, instead of building it from the fields above */
  readonly raw?: Buffer;
}

export interface RawResponse {
  /** 0 when there was no answer */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** the body parsed as JSON, undefined when it is not JSON */
  readonly json: unknown;
  /** why there is no (complete) answer */
  readonly failure: string | null;
  readonly ms: number;
}

export function requestBytes(request: RawRequest): Buffer {
  if (request.raw) return request.raw;
  const lines: Buffer[] = [Buffer.from(`${request.method} ${request.path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`, 'latin1')];
  const headers = request.headers ?? [];
  for (const [name, value] of headers)
    lines.push(Buffer.concat([Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n')]));
  const hasLength = headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
  if (request.body && request.contentLength !== false && !hasLength) lines.push(Buffer.from(`content-length: ${request.body.length}\r\n`));
  lines.push(Buffer.from('\r\n'));
  if (request.body) lines.push(request.body);
  return Buffer.concat(lines);
}

/** Sends one request on a new connection and reads the answer until the server closes it. */
export function sendRaw(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let socketError: string | null = null;
    let settled = false;
    const finish = (failure: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks), failure, socketError, Date.now() - started));
    };
    const timer = setTimeout(() => finish(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An answer may come on a connection the server keeps open (an upgrade, a keep-alive): stop at its end.
      if (answerComplete(Buffer.concat(chunks))) finish(null);
    });
    socket.on('error', (error) => (socketError = error.message));
    socket.on('close', () => finish(null));
    socket.on('connect', () => socket.write(requestBytes(request), () => undefined));
  });
}

/** Whether `raw` holds a whole final answer (its head, and its body by Content-Length or chunked framing). */
function answerComplete(raw: Buffer): boolean {
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const head = rest.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    if (length !== undefined) return rest.length >= Number(length);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return rest.includes('\r\n0\r\n\r\n') || rest.subarray(0, 5).toString() === '0\r\n\r\n';
    return false;
  }
}

function parseResponse(raw: Buffer, failure: string | null, socketError: string | null, ms: number): RawResponse {
  const none = (why: string): RawResponse => ({ status: 0, headers: {}, text: '', json: undefined, failure: why, ms });
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0)
      return none(failure ?? (rest.length === 0 ? `connection closed without an answer${socketError ? ` (${socketError})` : ''}` : 'an incomplete answer'));
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue; // 100 Continue
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest;
    let incomplete = false;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const lineEnd = body.indexOf('\r\n', at);
        if (lineEnd < 0) {
          incomplete = true;
          break;
        }
        const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) {
          incomplete = true;
          break;
        }
        if (size === 0) break;
        parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      incomplete = body.length < length;
      body = body.subarray(0, length);
    }
    if (/gzip/i.test(headers['content-encoding'] ?? '')) {
      try {
        body = gunzipSync(body);
      } catch {
        incomplete = true;
      }
    }
    const text = body.toString('utf8');
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status, headers, text, json, failure: incomplete ? (failure ?? 'an incomplete answer body') : null, ms };
  }
}

// ---- what a JSON route reads from a request --------------------------------------------------

/** The body as the documentation says the central must read it: a JSON value, or why it must be refused (and with which codes). */
export type EffectiveBody =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly why: string; readonly codes: readonly SyncErrorCode[] };

/**
 * Works out, from the documentation alone, what a JSON route must make of a request's body:
 * Content-Type application/json (charset utf-8 or none), Content-Encoding identity, gzip, deflate or
 * br (what the body parser reads), valid UTF-8, valid JSON (an object or array), at most the body
 * limit once decompressed. A missing body is refused.
 */
export function effectiveBody(request: RawRequest, bodyLimitBytes: number): EffectiveBody {
  const header = (name: string): string | undefined => {
    const found = (request.headers ?? []).filter(([n]) => n.toLowerCase() === name);
    return found.length === 0 ? undefined : found.map(([, v]) => (typeof v === 'string' ? v : v.toString('latin1'))).join(', ');
  };
  const invalid = (why: string, codes: readonly SyncErrorCode[] = ['validation_failed']): EffectiveBody => ({ ok: false, why, codes });
  const type = header('content-type');
  if (type === undefined || request.body === undefined) return invalid('no JSON body');
  const [mediaType, ...params] = type.split(';').map((s) => s.trim().toLowerCase());
  if (mediaType !== 'application/json') return invalid(`content type ${type}`);
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8') return invalid(`charset ${charset}`);
  const encoding = (header('content-encoding') || 'identity').trim().toLowerCase();
  let bytes = request.body;
  try {
    if (encoding === 'gzip') bytes = gunzipSync(bytes, { maxOutputLength: bodyLimitBytes + 1 });
    else if (encoding === 'deflate') bytes = inflateSync(bytes, { maxOutputLength: bodyLimitBytes + 1 });
    else if (encoding === 'br') bytes = brotliDecompressSync(bytes, { maxOutputLength: bodyLimitBytes + 1 });
    else if (encoding !== 'identity') return invalid(`content encoding ${encoding}`);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return invalid('over the body limit once decompressed', ['payload_too_large']);
    return invalid(`a ${encoding} body that does not decompress (${(error as Error).message})`);
  }
  if (bytes.length > bodyLimitBytes) return invalid('over the body limit', ['payload_too_large']);
  if (!isUtf8(bytes)) return invalid('not valid UTF-8');
  const text = bytes.toString('utf8');
  if (text.trim() === '') return invalid('an empty body');
  if (!/^[ \t\n\r]*[{[]/.test(text)) return invalid('JSON that is not an object or array');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return invalid('not valid JSON');
  }
}

// ---- centrals on a real port ------------------------------------------------------------------

export interface LoggedError {
  readonly message: string;
  readonly correlationId: string | undefined;
  readonly err: string | undefined;
}

export interface FuzzCentral {
  readonly name: string;
  readonly port: number;
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  readonly bodyLimitBytes: number;
  /** errors the central logged */
  readonly errors: LoggedError[];
  close(): Promise<void>;
}

async function seed(storage: UnitOfWork & { readonly storage: SyncStorage }): Promise<void> {
  const topology = seedExampleTopology();
  await storage.storage.topology.save(topology);
  for (const site of topology.sites) await storage.storage.topology.setPasswordHash(site.id, await testHasher.hash(sha256Hex(passwordOf(site.id))));
}

/** Binds both remotes to their device (hardware id hw-1), as their first sync would. */
async function firstLogins(central: FuzzCentral): Promise<void> {
  for (const siteId of [REMOTE1, REMOTE2]) {
    const res = await sendRaw(central.port, { method: 'GET', path: '/sync/v1/site', headers: Object.entries(headersOf(siteId)) });
    if (res.status !== 200) throw new Error(`the first login of site ${siteId} on ${central.name} answered ${res.status} ${res.text}`);
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve((server.address() as { port: number }).port));
  });
}

/** Seed 002's topology on in-memory storage, served by `createCentralApp` on a real port with the timeouts of the central server. */
export async function startMemoryCentral(name: string, overrides: Partial<CentralAppDeps> = {}): Promise<FuzzCentral> {
  const storage = createInMemoryStorage();
  await seed(storage);
  const errors: LoggedError[] = [];
  const logger = {
    info: () => undefined,
    warn: () => undefined,
    error: (o: object, msg?: string) => {
      const { correlationId, err } = o as { correlationId?: string; err?: unknown };
      errors.push({ message: msg ?? '', correlationId, err: err instanceof Error ? `${err.name}: ${err.message}` : undefined });
    },
  };
  const app = createCentralApp({ storage, hasher: testHasher, clock: new ManualClock(), adminToken: ADMIN_TOKEN, logger, ...overrides });
  const server = app.listen(0, '127.0.0.1');
  // as apps/central-server does
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = await listen(server);
  const central: FuzzCentral = {
    name,
    port,
    storage,
    bodyLimitBytes: parseSize(overrides.bodyLimit ?? '64mb'),
    errors,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  await firstLogins(central);
  return central;
}

/**
 * The central server itself (`startCentralServer`, the composition root the CLI runs) on embedded
 * PGlite (`openPostgresSyncStorage(pglitePool(new PGlite()))`), with seed 002's topology.
 */
export async function startServerCentral(name: string): Promise<FuzzCentral> {
  const errors: LoggedError[] = [];
  const logger = pino(
    { level: 'error' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; correlationId?: string; err?: { type?: string; message?: string } };
        errors.push({ message: entry.msg ?? '', correlationId: entry.correlationId, err: entry.err ? `${entry.err.type}: ${entry.err.message}` : undefined });
      },
    },
  );
  const running = await startCentralServer({ port: 0, host: '127.0.0.1', dataDir: ':memory:', adminToken: ADMIN_TOKEN, logger, hasher: testHasher });
  // Before the first request: the app loads the topology on first use.
  await seed(running.storage);
  const central: FuzzCentral = {
    name,
    port: Number(new URL(running.url).port),
    storage: running.storage,
    bodyLimitBytes: parseSize('64mb'),
    errors,
    close: () => running.close(),
  };
  await firstLogins(central);
  return central;
}

function parseSize(size: string): number {
  const match = /^(\d+)(kb|mb)$/.exec(size);
  if (!match) throw new Error(`unknown size ${size}`);
  return Number(match[1]) * (match[2] === 'kb' ? 1024 : 1024 * 1024);
}

// ---- stored records ---------------------------------------------------------------------------

/** Where the change feed ends: every write of a record gives it a new cursor after every cursor seen, so an unchanged head means no record changed. */
export function feedHead(central: FuzzCentral): Promise<bigint> {
  return central.storage.storage.changes.head();
}

/** The records written since `head` ("type:id"). */
export async function changedSince(central: FuzzCentral, head: bigint): Promise<string[]> {
  if ((await feedHead(central)) === head) return [];
  const changes = await central.storage.storage.changes.scan(head, 100_000_000);
  return [...new Set(changes.map((c) => `${c.record.type}:${c.record.id}`))];
}

/** What a pull would carry of a stored record (its JSON), or null. */
export async function storedAsPulled(central: FuzzCentral, type: string, id: string): Promise<Record<string, unknown> | null> {
  const stored = await central.storage.storage.records.get(type, id);
  return stored === null ? null : (JSON.parse(JSON.stringify(stored)) as Record<string, unknown>);
}

/** Whether a stored record (as a pull carries it) is exactly what was sent: routing columns (absent = null), deleted (absent = false), data. */
export function sameRecord(sent: Record<string, unknown>, stored: Record<string, unknown>): string | null {
  for (const field of ['type', 'id', ...ROUTING_FIELDS]) {
    if ((sent[field] ?? null) !== (stored[field] ?? null))
      return `${field} ${preview(JSON.stringify(stored[field] ?? null), 80)} instead of ${preview(JSON.stringify(sent[field] ?? null), 80)}`;
  }
  if ((sent['deleted'] ?? false) !== (stored['deleted'] ?? false)) return 'deleted differs';
  const want = canonical(sent['data']);
  const got = canonical(stored['data']);
  return want === got ? null : `data ${preview(got, 120)} instead of ${preview(want, 120)}`;
}

// ---- the checks every answer must pass --------------------------------------------------------

/** What was wrong with an answer: `what` names the kind (findings are grouped by it), `detail` the particulars. */
export interface Problem {
  readonly what: string;
  readonly detail?: string;
}

export function errorCodeOf(res: RawResponse): string | undefined {
  const error = isPlainObject(res.json) ? res.json['error'] : undefined;
  return isPlainObject(error) && typeof error['code'] === 'string' ? error['code'] : undefined;
}

/** The answer in a line: status, code, message, and what the central logged for a 500. */
export function describeAnswer(res: RawResponse, central?: FuzzCentral): string {
  if (res.status === 0) return `no answer (${res.failure})`;
  const code = errorCodeOf(res);
  const error = isPlainObject(res.json) && isPlainObject(res.json['error']) ? res.json['error'] : undefined;
  let text = `${res.status}${code ? ` ${code}` : ''}`;
  if (error && typeof error['message'] === 'string') text += `: ${preview(error['message'], 160)}`;
  else if (res.text !== '') text += ` ${preview(res.text, 160)}`;
  else text += ' with an empty body';
  if (res.status >= 500 && central) {
    const data = error && isPlainObject(error['data']) ? error['data'] : undefined;
    const logged = central.errors.find((e) => data !== undefined && e.correlationId === data['correlationId']) ?? central.errors.at(-1);
    if (logged?.err) text += ` [logged: ${preview(logged.err, 200)}]`;
  }
  return text;
}

/** The error shape: {"error":{"code","message","data"}}, a code of SYNC_ERROR_CODES with its documented status. */
export function errorShapeProblems(res: RawResponse): Problem[] {
  const error = isPlainObject(res.json) ? res.json['error'] : undefined;
  if (!isPlainObject(error)) return [{ what: `${res.status} without the error body {"error":{"code","message","data"}}` }];
  const problems: Problem[] = [];
  const code = error['code'];
  if (typeof code !== 'string' || !(SYNC_ERROR_CODES as readonly string[]).includes(code))
    problems.push({ what: `error code ${JSON.stringify(code)} is not one of SYNC_ERROR_CODES` });
  else if (ERROR_STATUS[code as SyncErrorCode] !== res.status)
    problems.push({ what: `status ${res.status} with code ${code}, documented as ${ERROR_STATUS[code as SyncErrorCode]}` });
  if (typeof error['message'] !== 'string' || error['message'] === '') problems.push({ what: 'error without a message' });
  if (!Object.hasOwn(error, 'data')) problems.push({ what: 'error without data' });
  return problems;
}

/** A 4xx error answer with the error shape, one of `codes` if given, and no stored record changed. */
export function expectError(res: RawResponse, changed: readonly string[], codes?: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const code = errorCodeOf(res);
  if (res.status === 0) return [{ what: 'no answer', detail: res.failure ?? '' }];
  if (res.status < 400 || res.status >= 500) problems.push({ what: `${res.status}${code ? ` ${code}` : ''} instead of a 4xx error` });
  else {
    problems.push(...errorShapeProblems(res));
    if (codes && code !== undefined && !codes.includes(code)) problems.push({ what: `${res.status} ${code} instead of ${codes.join(' or ')}` });
  }
  if (changed.length > 0) problems.push({ what: 'stored records changed', detail: changed.join(', ') });
  return problems;
}

// ---- findings and case counts -----------------------------------------------------------------

interface Finding {
  readonly test: string;
  readonly kind: string;
  readonly what: string;
  input: string;
  answer: string;
  count: number;
}

/** Every wrong answer, grouped by (test, kind of input, kind of wrong answer), each with its shortest input. */
export class Findings {
  private readonly all = new Map<string, Finding>();
  readonly cases = new Map<string, number>();

  count(test: string, n = 1): void {
    this.cases.set(test, (this.cases.get(test) ?? 0) + n);
  }

  add(test: string, kind: string, problem: Problem, input: string, answer: string): void {
    const key = `${test}\u0000${kind}\u0000${problem.what}`;
    const full = problem.detail ? `${answer} (${problem.detail})` : answer;
    const found = this.all.get(key);
    if (!found) this.all.set(key, { test, kind, what: problem.what, input, answer: full, count: 1 });
    else {
      found.count += 1;
      if (input.length < found.input.length) {
        found.input = input;
        found.answer = full;
      }
    }
  }

  /** The findings of a test as lines "kind: input -> wrong answer", empty when there are none. */
  report(test: string): string {
    const lines = [...this.all.values()]
      .filter((f) => f.test === test)
      .map((f) => `- [${f.kind}] ${f.what} (${f.count} case${f.count === 1 ? '' : 's'})\n    input:  ${f.input}\n    answer: ${f.answer}`);
    return lines.length === 0 ? '' : `${lines.length} kinds of wrong answers in "${test}":\n${lines.join('\n')}`;
  }

  total(): number {
    return [...this.cases.values()].reduce((a, b) => a + b, 0);
  }

  summary(): string {
    const rows = [...this.cases].map(([test, n]) => `  ${String(n).padStart(6)}  ${test}`);
    const kinds = this.all.size;
    return `API fuzz: ${this.total()} cases sent\n${rows.join('\n')}\n  ${kinds} kinds of wrong answers found`;
  }
}

export { ADMIN_TOKEN, CENTRAL, REMOTE1, REMOTE2 };
