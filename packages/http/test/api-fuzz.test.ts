/**
 * Fuzzing every route of the sync API (/sync/v1/site, push, pull, status), the admin API
 * (/admin/v1/...) and /health with fast-check: malformed, truncated and mistyped JSON, gzip,
 * deflate and brotli bodies (truncated, corrupt, bombs), wrong content types, invalid UTF-8, empty
 * and oversized bodies, huge, negative, fractional and exponent numbers and cursors, unknown fields,
 * `__proto__` and `constructor` keys, record data holding \u0000, lone surrogates or 100,000
 * levels of nesting, bad and missing credentials and header values, bytes the HTTP parser refuses,
 * and slow clients that stall in the middle of a request.
 *
 * Every case goes to a central listening on a real port, through a raw socket. Each answer must be
 * what docs/sync-api.md says: the route's answer for a valid request, or a 4xx error
 * {"error":{"code","message","data"}} with a code of SYNC_ERROR_CODES (never a 5xx); for a push of
 * well-formed records, also 200 with a record in `refused`. After every case GET /health answers
 * 200 and no stored record changed (every write of a record moves it to the end of the change feed
 * with a new cursor: the feed's head before and after, and the records after the old head), except
 * the records an answer says were stored, which must then be stored exactly as they were sent and
 * within the documented record limits.
 *
 * Sync cases run as a real site (Remote site 1, its password and device) and unauthenticated. Most
 * run on in-memory storage; cursors, record content, names and the HTTP-level cases also run on the
 * central server itself (`startCentralServer`) on embedded PGlite, whose `jsonb` and text columns
 * refuse what memory keeps. Wrong answers are collected (not thrown at the first), grouped by the
 * kind of input and of wrong answer, each with its shortest input, and reported per test.
 * FUZZ_SEED and FUZZ_SCALE (a multiplier of the runs) change the cases; the count is printed last.
 */
import { isDeepStrictEqual } from 'node:util';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { parse as parseQueryString } from 'node:querystring';
import { connect, type Socket } from 'node:net';
import * as fc from 'fast-check';
import { COPY_TYPES, DEVICE_TYPES, MAX_FAILED_LOGINS } from '@sitesync/domain';
import {
  adminIssuesResponseSchema,
  adminSiteResponseSchema,
  adminSitesResponseSchema,
  adminStoreResponseSchema,
  adminStoresResponseSchema,
  HEADERS,
  pullResponseSchema,
  pushResponseSchema,
  putRecordsResponseSchema,
  sha256Hex,
  siteInfoResponseSchema,
  statusResponseSchema,
} from '../src/index';
import {
  ADMIN_TOKEN,
  brokenRecordLimit,
  bytesPreview,
  changedSince,
  describeAnswer,
  effectiveBody,
  feedHead,
  errorCodeOf,
  expectError,
  Findings,
  hasRecordShape,
  isPlainObject,
  type J,
  jsonText,
  JObj,
  JRaw,
  nestedText,
  obj,
  preview,
  REMOTE1,
  REMOTE2,
  requestBytes,
  sameRecord,
  sendRaw,
  startMemoryCentral,
  startServerCentral,
  storedAsPulled,
  type FuzzCentral,
  type Problem,
  type RawRequest,
  type RawResponse,
} from './api-fuzz-harness';
import { headersOf, passwordOf, siteHeaders } from './central-test-setup';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_260_601);
const SCALE = Number(process.env['FUZZ_SCALE'] ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));
const MAX_CURSOR = 2n ** 63n - 1n; // docs/sync-api.md: "at most 2^63 - 1"

// The whole file runs in well under a minute; a test that stalls must not leave its cases running into the next.
jest.setTimeout(120_000);

const findings = new Findings();
let unique = 0;
const fresh = (prefix: string): string => `${prefix}-${(unique += 1)}`;

type Headers = readonly (readonly [string, string | Buffer])[];
type Judge = (res: RawResponse, changed: readonly string[]) => Problem[] | Promise<Problem[]>;
interface Case {
  /** the kind of input, e.g. "cursor beyond 2^63": findings are grouped by it */
  readonly kind: string;
  readonly request: RawRequest;
  /** the input as a reproduction; default: the request line, headers and body */
  readonly show?: string;
}

const SITE: Headers = Object.entries(headersOf(REMOTE1));
const SITE_UNAUTHENTICATED: Headers = SITE.filter(([name]) => name !== 'authorization');
const ADMIN: Headers = [['authorization', `Bearer ${ADMIN_TOKEN}`]];
const JSON_TYPE: Headers = [['content-type', 'application/json']];

function showRequest(request: RawRequest): string {
  if (request.raw) return `raw bytes: ${bytesPreview(request.raw, 300)}`;
  const headers = (request.headers ?? [])
    .filter(([name]) => !Object.hasOwn(headersOf(REMOTE1), name) || name === 'authorization')
    .map(([name, value]) => {
      const text = typeof value === 'string' ? value : value.toString('latin1');
      if (name === 'authorization' && text === headersOf(REMOTE1)['authorization']) return '[as Remote site 1]';
      if (name === 'authorization' && text === `Bearer ${ADMIN_TOKEN}`) return '[admin token]';
      return `${name}: ${preview(text, 80)}`;
    });
  const asSite =
    (request.headers ?? []).some(([name]) => name === HEADERS.apiVersion) && !headers.includes('[as Remote site 1]')
      ? ['[site headers, no authorization]']
      : [];
  const body = request.body ? ` body: ${bytesPreview(request.body, 300)}` : '';
  return `${request.method} ${request.path} ${[...asSite, ...headers].join(' ')}${body}`.replace(/\s+$/, '');
}

/** Sends a case, judges the answer, checks that the central is still up, and keeps what was wrong. */
async function check(central: FuzzCentral, test: string, c: Case, judge: Judge, after?: () => Promise<Problem[]>): Promise<void> {
  findings.count(test);
  const before = await feedHead(central);
  const res = await sendRaw(central.port, c.request);
  const changed = await changedSince(central, before);
  const problems = [...(await judge(res, changed))];
  const health = await sendRaw(central.port, { method: 'GET', path: '/health' });
  if (health.status !== 200 || !isDeepStrictEqual(health.json, { status: 'ok' }))
    problems.push({ what: 'the central is down afterwards', detail: `GET /health: ${describeAnswer(health)}` });
  if (after) problems.push(...(await after()));
  for (const problem of problems) findings.add(test, c.kind, problem, c.show ?? showRequest(c.request), describeAnswer(res, central));
}

function expectNoFindings(test: string): void {
  const report = findings.report(test);
  if (report !== '') throw new Error(report);
}

async function fuzz<T>(arbitrary: fc.Arbitrary<T>, numRuns: number, run: (value: T) => Promise<void>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      await run(value);
    }),
    { numRuns: runs(numRuns), seed: SEED, endOnFailure: true },
  );
}

/** A 2xx answer that must parse with the route's response schema. */
function expectAnswer(
  res: RawResponse,
  changed: readonly string[],
  status: number,
  schema: { safeParse(v: unknown): { success: boolean } },
  allowChanges = false,
): Problem[] {
  const problems: Problem[] = [];
  if (res.status !== status) return [{ what: `${res.status}${errorCodeOf(res) ? ` ${errorCodeOf(res)}` : ''} instead of ${status}` }];
  if (!schema.safeParse(res.json).success) problems.push({ what: `a ${status} answer that is not the documented response`, detail: preview(res.text, 200) });
  if (!allowChanges && changed.length > 0) problems.push({ what: 'stored records changed', detail: changed.join(', ') });
  return problems;
}

// ---- JSON values with a hostile streak ---------------------------------------------------------

const NUMBER_TOKENS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1.0',
  '1e3',
  '1E3',
  '1e+3',
  '1e-3',
  '1e400',
  '-1e400',
  '1e-400',
  '4.9e-324',
  '1.7976931348623157e308',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999',
  '-99999999999999999999',
  '123456789012345678901234567890',
  '5000',
  '5001',
  '5000.0000000000001',
];
const numberToken: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom(...NUMBER_TOKENS).map((t) => new JRaw(t)),
  fc.integer().map((n) => n),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => new JRaw(n.toString())),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n),
);

const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\ud83d',
  '\udc8a\ud83d',
  '\ud83d\udc8a',
  '\ufeff',
  '\uffff',
  '\u2028\u2029',
  '\u001b[31m',
  'é',
  '%00',
  '%ZZ',
  '../../etc/passwd',
  '<script>',
  'null',
  '0',
  '-1',
  '1e3',
  'B',
  'a'.repeat(200),
  'a'.repeat(201),
];
const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...WEIRD_STRINGS),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.tuple(fc.string({ maxLength: 4 }), fc.constantFrom('\u0000', '\ud800', '\udc00', '\ud83d'), fc.string({ maxLength: 4 })).map(([a, b, c]) => a + b + c),
);
const WEIRD_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', '\u0000', '\ud800', 'a'.repeat(300)];
const weirdKey: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...WEIRD_KEYS), fc.string({ maxLength: 8 }));

const { anyJson } = fc.letrec<{ anyJson: J }>((tie) => ({
  anyJson: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    numberToken,
    weirdString,
    fc.array(tie('anyJson'), { maxLength: 4 }),
    fc.array(fc.tuple(weirdKey, tie('anyJson')), { maxLength: 4 }).map((entries) => new JObj(entries)),
  ),
}));

/** A value of a wrong type or out of range for any field. */
const wrongValue: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>(null, true, false, 0, -1, 1.5, '', [], obj({}), ['x'], new JObj([['__proto__', 'x']]), 'a'.repeat(201)),
  numberToken,
  anyJson,
);

type Path = readonly (string | number)[];
type Mutation =
  | { readonly op: 'set'; readonly path: Path; readonly value: J }
  | { readonly op: 'delete'; readonly path: Path }
  | { readonly op: 'add'; readonly path: Path; readonly key: string; readonly value: J };

function applyAt(value: J, path: Path, change: (v: J | undefined) => J | undefined): J {
  if (path.length === 0) return change(value) ?? null;
  const [head, ...rest] = path;
  if (value instanceof JObj && typeof head === 'string') {
    const index = value.entries.findIndex(([k]) => k === head);
    if (index < 0) {
      if (rest.length > 0) return value;
      const added = change(undefined);
      return added === undefined ? value : new JObj([...value.entries, [head, added]]);
    }
    const child = value.entries[index]![1];
    const next = rest.length === 0 ? change(child) : applyAt(child, rest, change);
    const entries = [...value.entries];
    if (next === undefined) entries.splice(index, 1);
    else entries[index] = [head, next];
    return new JObj(entries);
  }
  if (Array.isArray(value) && typeof head === 'number' && head < value.length) {
    const items = [...(value as J[])];
    const next = rest.length === 0 ? change(items[head]) : applyAt(items[head]!, rest, change);
    if (next === undefined) items.splice(head, 1);
    else items[head] = next;
    return items;
  }
  return value;
}

function mutate(value: J, mutations: readonly Mutation[]): J {
  return mutations.reduce<J>((v, m) => {
    if (m.op === 'set') return applyAt(v, m.path, () => m.value);
    if (m.op === 'delete') return applyAt(v, m.path, () => undefined);
    return applyAt(v, m.path, (target) => (target instanceof JObj ? new JObj([...target.entries, [m.key, m.value]]) : target));
  }, value);
}

function mutations(paths: readonly Path[], objectPaths: readonly Path[]): fc.Arbitrary<Mutation[]> {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...paths), value: wrongValue }),
    fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...paths) }),
    fc.record({ op: fc.constant('add' as const), path: fc.constantFrom(...objectPaths), key: weirdKey, value: anyJson }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 });
}

/** Bodies that are not JSON, or not the JSON of any request. */
const GARBAGE = [
  '',
  ' ',
  '{',
  '}',
  '[',
  'null',
  'true',
  '"x"',
  '1',
  '[]',
  '{}',
  '{"batchId":',
  "{'batchId':'x'}",
  '{"a":1,}',
  '{"a":1} x',
  '{"a":1}{"a":2}',
  '{"a":1}//',
  '\ufeff{}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":1.}',
  '{"a":+1}',
  '{"a":0x10}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\\ud800"}',
  '{"a":"line\nbreak"}',
  '{"a":"tab\there"}',
  '{"a" 1}',
  '{"__proto__":{"cursor":"0","limit":1,"batchId":"x","records":[]}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  `${'['.repeat(100_000)}`,
  `{"batchId":"x","records":[],"deep":${nestedText(100_000)}}`,
];

interface BodyCase {
  readonly kind: string;
  readonly bytes: Buffer;
  readonly show: string;
}

const textBody = (kind: string, text: string): BodyCase => ({ kind, bytes: Buffer.from(text, 'utf8'), show: preview(text, 300) });

/** Whole bodies for any JSON route: garbage, any JSON value, random bytes, a valid body cut short. */
function wholeBodies(valid: () => string): fc.Arbitrary<BodyCase> {
  return fc.oneof(
    fc.constantFrom(...GARBAGE).map((text) => textBody('not a request body', text)),
    anyJson.map((value) => textBody('any JSON value', jsonText(value))),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'random bytes', bytes: Buffer.from(bytes), show: bytesPreview(Buffer.from(bytes)) })),
    fc.nat().map((n) => {
      const text = valid();
      const cut = n % text.length;
      return {
        kind: 'truncated JSON',
        bytes: Buffer.from(text.slice(0, cut)),
        show: `${preview(text.slice(0, cut), 200)} (a valid body cut at ${cut} of ${text.length} chars)`,
      };
    }),
  );
}

// ---- the documented requests --------------------------------------------------------------------

function validCursor(value: unknown): boolean {
  return typeof value === 'string' && /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_CURSOR;
}

function validPull(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const limit = value['limit'];
  return validCursor(value['cursor']) && typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= 5000;
}

function validPush(value: unknown): value is { batchId: string; records: Record<string, unknown>[] } {
  if (!isPlainObject(value)) return false;
  const { batchId, records } = value;
  return (
    typeof batchId === 'string' &&
    batchId.length >= 1 &&
    batchId.length <= 200 &&
    Array.isArray(records) &&
    records.length <= 5000 &&
    records.every(hasRecordShape)
  );
}

const BODY_CODES = ['validation_failed', 'payload_too_large'];

/** A push answer: every record stored or refused, stored ones exactly as sent and within the record limits, nothing else changed. */
async function judgePushAnswer(
  central: FuzzCentral,
  records: readonly Record<string, unknown>[],
  res: RawResponse,
  changed: readonly string[],
  batchId: string,
): Promise<Problem[]> {
  if (res.status >= 400 && res.status < 500) return expectError(res, changed);
  const parsed = pushResponseSchema.safeParse(res.json);
  if (res.status !== 200 || !parsed.success) return expectAnswer(res, changed, 200, pushResponseSchema);
  const answer = parsed.data;
  const problems: Problem[] = [];
  if (answer.batchId !== batchId) problems.push({ what: 'the answer names another batch id' });
  if (answer.replayed === true) {
    if (changed.length > 0) problems.push({ what: 'a replayed batch changed stored records', detail: changed.join(', ') });
    return problems;
  }
  const key = (r: Record<string, unknown>): string => `${String(r['type'])}:${String(r['id'])}`;
  const refused = new Set(answer.refused.map((r) => `${r.recordType}:${r.recordId}`));
  const stored = records.filter((r) => !refused.has(key(r)));
  if (answer.accepted !== stored.length)
    problems.push({
      what: 'accepted does not count the records not refused',
      detail: `accepted ${answer.accepted} of ${records.length}, ${refused.size} refused`,
    });
  const expected = new Set(stored.map(key));
  const unexpected = changed.filter((k) => !expected.has(k));
  if (unexpected.length > 0) problems.push({ what: 'a refused or unsent record changed in storage', detail: unexpected.join(', ') });
  const latest = new Map(stored.map((r) => [key(r), r]));
  for (const [k, record] of latest) {
    const broken = brokenRecordLimit(record);
    if (broken) problems.push({ what: `stored a record over the documented limits: ${broken}`, detail: k });
    else if (!changed.includes(k)) problems.push({ what: 'an accepted record was not stored', detail: k });
    else {
      const back = await storedAsPulled(central, String(record['type']), String(record['id']));
      const difference = back === null ? 'not found' : sameRecord(record, back);
      if (difference) problems.push({ what: 'a stored record differs from what was sent', detail: `${preview(k, 80)}: ${difference}` });
    }
  }
  const byKey = new Map(records.map((r) => [key(r), r]));
  for (const r of answer.refused) {
    const record = byKey.get(`${r.recordType}:${r.recordId}`);
    if (record && r.code.startsWith('record.') && !['record.unknown-type', 'record.missing-store'].includes(r.code) && brokenRecordLimit(record) === null)
      problems.push({ what: `refused with ${r.code} although within the documented limits`, detail: preview(r.message, 200) });
  }
  return problems;
}

/** A JSON route's answer to a body: what effectiveBody and the route's own rules say. */
function judgeBody(central: FuzzCentral, request: RawRequest, valid: (value: unknown) => Judge, invalidCodes: readonly string[] = BODY_CODES): Judge {
  const body = effectiveBody(request, central.bodyLimitBytes);
  if (!body.ok) return (res, changed) => expectError(res, changed, body.codes.length > 0 ? body.codes : invalidCodes);
  return valid(body.value);
}

function judgePush(central: FuzzCentral, request: RawRequest): Judge {
  return judgeBody(central, request, (value) =>
    validPush(value)
      ? (res, changed) => judgePushAnswer(central, value.records, res, changed, value.batchId)
      : (res, changed) => expectError(res, changed, BODY_CODES),
  );
}

function judgePull(central: FuzzCentral, request: RawRequest): Judge {
  return judgeBody(central, request, (value) => {
    if (!validPull(value)) return (res, changed) => expectError(res, changed, BODY_CODES);
    const { cursor, limit } = value as { cursor: string; limit: number };
    return (res, changed) => {
      const problems = expectAnswer(res, changed, 200, pullResponseSchema);
      const answer = pullResponseSchema.safeParse(res.json);
      if (problems.length === 0 && answer.success) {
        if (answer.data.records.length > limit) problems.push({ what: 'more records than the limit' });
        if (BigInt(answer.data.nextCursor) < BigInt(cursor)) problems.push({ what: 'nextCursor before the cursor sent', detail: answer.data.nextCursor });
      }
      return problems;
    };
  });
}

const unauthenticated: Judge = (res, changed) => expectError(res, changed, ['auth_required']);

// ---- in-memory storage ------------------------------------------------------------------------------

describe('API fuzz on in-memory storage', () => {
  // A fresh central for every test: in-memory storage copies its whole state on every unit of
  // work, so what one test stores would slow down the next.
  let central: FuzzCentral;
  beforeEach(async () => {
    central = await startMemoryCentral('memory central');
  });
  afterEach(() => central.close());

  const T_ROUTES = 'memory: GET /health, unknown routes and methods';
  it(T_ROUTES, async () => {
    const known: Record<string, string[]> = {
      '/health': ['GET', 'HEAD'],
      '/sync/v1/site': ['GET', 'HEAD'],
      '/sync/v1/push': ['POST'],
      '/sync/v1/pull': ['POST'],
      '/sync/v1/status': ['GET', 'HEAD'],
      '/admin/v1/sites': ['GET', 'HEAD', 'POST'],
      '/admin/v1/stores': ['GET', 'HEAD', 'POST'],
      '/admin/v1/issues': ['GET', 'HEAD'],
      '/admin/v1/records': ['POST'],
      '/admin/v1/sites/2/unblock': ['POST'],
      '/admin/v1/sites/3/reset-hardware-id': ['POST'],
      '/admin/v1/sites/3/password': ['PUT'],
      '/admin/v1/stores/A/copies/2': ['PUT'],
    };
    const paths = [
      ...Object.keys(known),
      '/',
      '/nowhere',
      '/sync',
      '/sync/v1',
      '/sync/v2/push',
      '/sync/v1/push/',
      '/sync/v1//push',
      '/SYNC/V1/PULL',
      '/admin',
      '/admin/v1/',
      '/admin/v1/sites/',
    ];
    const suffixes = ['', '/', '/x', '%00', '%2e%2e', '?x=1', '?__proto__[x]=1', '/..%2f..%2fhealth'];
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE'];
    await fuzz(
      fc.record({ path: fc.constantFrom(...paths), suffix: fc.constantFrom(...suffixes), method: fc.constantFrom(...methods), admin: fc.boolean() }),
      160,
      async ({ path, suffix, method, admin }) => {
        const full = path + suffix;
        const request: RawRequest = { method, path: full, headers: admin ? ADMIN : [] };
        await check(central, T_ROUTES, { kind: `${method} of an unknown or unauthenticated route`, request }, (res, changed) => {
          if (full === '/health' || full === '/health?x=1' || full === '/health?__proto__[x]=1' || full === '/health/') {
            if (method === 'GET') return expectAnswer(res, changed, 200, { safeParse: (v) => ({ success: isDeepStrictEqual(v, { status: 'ok' }) }) });
            if (method === 'HEAD') return res.status === 200 ? [] : [{ what: `HEAD /health answered ${res.status}` }];
          }
          // Without credentials, or on a route that does not exist: a 4xx error, never a write.
          if (method === 'HEAD') return res.status >= 400 && res.status < 500 && changed.length === 0 ? [] : [{ what: `HEAD answered ${res.status}` }];
          if (res.status >= 200 && res.status < 300 && admin && full.startsWith('/admin/v1/'))
            return changed.length === 0 ? [] : [{ what: 'stored records changed' }];
          return expectError(res, changed);
        });
      },
    );
    expectNoFindings(T_ROUTES);
  });

  const T_PUSH = 'memory: POST /sync/v1/push bodies, as Remote site 1 and unauthenticated';
  it(T_PUSH, async () => {
    const template = (): J =>
      obj({ batchId: fresh('fz-batch'), records: [obj({ type: 'stock_line', id: fresh('fz-c'), storeId: 'C', data: obj({ quantity: 1, note: 'n' }) })] });
    const record = ['records', 0] as const;
    const paths: Path[] = [
      ['batchId'],
      ['records'],
      [...record],
      ...['type', 'id', 'storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId', 'deleted', 'data'].map((f) => [...record, f]),
      [...record, 'data', 'quantity'],
    ];
    const objectPaths: Path[] = [[], [...record], [...record, 'data']];
    const bodies = fc.oneof(
      { weight: 3, arbitrary: mutations(paths, objectPaths).map((m) => ({ kind: 'a push with wrong fields', m })) },
      { weight: 1, arbitrary: wholeBodies(() => jsonText(template())).map((b) => ({ kind: b.kind, b })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(0, 1, 2, 3).map((n) => ({ kind: `a push of ${n} refused records`, n })),
      },
    );
    await fuzz(bodies, 250, async (choice) => {
      let body: BodyCase;
      if ('m' in choice) {
        const text = jsonText(mutate(template(), choice.m));
        body = textBody(choice.kind, text);
      } else if ('b' in choice) body = choice.b;
      else {
        const records = Array.from({ length: choice.n }, () => obj({ type: 'stock_line', id: fresh('fz-c'), storeId: 'C', data: obj({}) }));
        const text = jsonText(obj({ batchId: fresh('fz-batch'), records }));
        body = { kind: choice.kind, bytes: Buffer.from(text), show: `{"batchId":"...","records":[${choice.n} records of store C]}` };
      }
      for (const [who, auth] of [
        ['site', SITE],
        ['unauthenticated', SITE_UNAUTHENTICATED],
      ] as const) {
        const request: RawRequest = { method: 'POST', path: '/sync/v1/push', headers: [...auth, ...JSON_TYPE], body: body.bytes };
        const show = `POST /sync/v1/push ${who === 'site' ? '[as Remote site 1]' : '[no authorization]'} body: ${body.show}`;
        await check(central, T_PUSH, { kind: `${body.kind} (${who})`, request, show }, who === 'site' ? judgePush(central, request) : unauthenticated);
      }
    });
    // once: the most records a push may carry (5001 is in the limits test)
    const many = Array.from({ length: 5000 }, () => obj({ type: 'stock_line', id: fresh('fz-c'), storeId: 'C', data: obj({}) }));
    const request: RawRequest = {
      method: 'POST',
      path: '/sync/v1/push',
      headers: [...SITE, ...JSON_TYPE],
      body: Buffer.from(jsonText(obj({ batchId: fresh('fz-batch'), records: many }))),
    };
    await check(
      central,
      T_PUSH,
      { kind: 'a push of 5000 refused records', request, show: 'POST /sync/v1/push [as Remote site 1] {"batchId":"...","records":[5000 records of store C]}' },
      judgePush(central, request),
    );
    expectNoFindings(T_PUSH);
  });

  const T_ENCODING = 'memory: bodies of every JSON route: gzip, deflate, br, content types, invalid UTF-8, empty';
  it(T_ENCODING, async () => {
    // Each JSON route with a body the route accepts (a push of a refused record, a pull from 0, an
    // admin change that is invalid for the topology only) and one it refuses.
    const routes: { method: string; path: string; headers: Headers; body: () => string; judge: (request: RawRequest) => Judge }[] = [
      {
        method: 'POST',
        path: '/sync/v1/push',
        headers: SITE,
        body: () =>
          jsonText(obj({ batchId: fresh('fz-enc'), records: [obj({ type: 'stock_line', id: fresh('fz-b'), storeId: 'B', data: obj({ note: 'MARK' }) })] })),
        judge: (request) => judgePush(central, request),
      },
      {
        method: 'POST',
        path: '/sync/v1/pull',
        headers: SITE,
        body: () => jsonText(obj({ cursor: '0', limit: 5, note: 'MARK' })),
        judge: (request) => judgePull(central, request),
      },
      {
        method: 'POST',
        path: '/admin/v1/records',
        headers: ADMIN,
        body: () => jsonText(obj({ records: [obj({ type: 'item', id: fresh('fz-item'), data: obj({ name: 'MARK' }) })] })),
        judge: (request) => judgeAdminRecords(central, request),
      },
      {
        method: 'PUT',
        path: '/admin/v1/stores/B/copies/1',
        headers: ADMIN,
        body: () => jsonText(obj({ type: 'collector', note: 'MARK' })),
        judge: (request) =>
          judgeBody(central, request, (v) => (isPlainObject(v) && v['type'] === 'collector' ? okAnswer(200, adminStoreResponseSchema) : badBody)),
      },
    ];
    const invalidUtf8 = [[0xff], [0xfe], [0x80], [0xc3], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe9]];
    const encodings = fc.oneof(
      fc
        .constantFrom('identity', 'gzip', 'GZIP', 'deflate', 'br', 'x-gzip', 'compress', 'gzip, gzip', 'gzip, identity', 'zstd', '', 'gzip;q=1')
        .map((e) => ({ e, how: 'whole' })),
      fc.record({
        e: fc.constantFrom('gzip', 'deflate', 'br'),
        how: fc.constantFrom('truncated', 'corrupt', 'plain', 'empty', 'trailing garbage', 'two members'),
      }),
    );
    const contentTypes = fc.constantFrom(
      'application/json',
      'Application/JSON',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/json; charset="utf-8"',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=utf8',
      'application/json; charset=nope',
      'application/json; charset',
      'application/json; foo=bar',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/vnd.api+json',
      '*/*',
      '',
      'NONE',
    );
    const variants = fc.record({
      route: fc.nat(routes.length - 1),
      type: fc.oneof({ weight: 3, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: contentTypes }),
      encoding: encodings,
      utf8: fc.option(fc.constantFrom(...invalidUtf8), { freq: 3 }),
      at: fc.nat(),
      empty: fc.boolean(),
      chunked: fc.boolean(),
    });
    await fuzz(variants, 200, async ({ route: index, type, encoding, utf8, at, empty, chunked }) => {
      const route = routes[index]!;
      const text = route.body();
      let plain: Buffer = Buffer.from(text);
      let kind = '';
      if (utf8) {
        const mark = plain.indexOf('MARK');
        plain = Buffer.concat([plain.subarray(0, mark), Buffer.from(utf8), plain.subarray(mark + 4)]);
        kind += 'invalid UTF-8 in a string, ';
      }
      if (empty && !utf8) {
        plain = Buffer.alloc(0);
        kind += 'empty body, ';
      }
      const compress = (b: Buffer): Buffer => (encoding.e === 'deflate' ? deflateSync(b) : encoding.e === 'br' ? brotliCompressSync(b) : gzipSync(b));
      let bytes: Buffer = plain;
      let show = bytesPreview(plain, 200);
      const known = ['gzip', 'GZIP', 'deflate', 'br'].includes(encoding.e);
      if (encoding.how === 'whole' && known) {
        bytes = compress(plain);
        show = `${encoding.e} of ${show}`;
      } else if (encoding.how === 'truncated') {
        const full = compress(plain);
        bytes = full.subarray(0, at % full.length);
        show = `${encoding.e} of ${show}, cut to ${bytes.length} of ${full.length} bytes`;
      } else if (encoding.how === 'corrupt') {
        const full = Buffer.from(compress(plain));
        const i = at % full.length;
        full[i] = full[i]! ^ (1 + (at % 255));
        bytes = full;
        show = `${encoding.e} of ${show}, byte ${i} flipped`;
      } else if (encoding.how === 'plain') show = `${show} sent as is, labelled ${encoding.e}`;
      else if (encoding.how === 'empty') {
        bytes = Buffer.alloc(0);
        show = `an empty body labelled ${encoding.e}`;
      } else if (encoding.how === 'trailing garbage') {
        bytes = Buffer.concat([compress(plain), Buffer.from('garbage')]);
        show = `${encoding.e} of ${show}, then "garbage"`;
      } else if (encoding.how === 'two members') {
        bytes = Buffer.concat([compress(plain.subarray(0, at % (plain.length + 1))), compress(plain.subarray(at % (plain.length + 1)))]);
        show = `${encoding.e} of ${show} in two members`;
      }
      kind += encoding.how === 'whole' ? `content-encoding ${encoding.e || '(empty)'}` : `${encoding.e} ${encoding.how}`;
      if (type !== 'application/json') kind += `, content-type ${type || '(empty)'}`;
      const headers: [string, string][] = [];
      if (type !== 'NONE') headers.push(['content-type', type]);
      if (encoding.e !== 'identity') headers.push(['content-encoding', encoding.e]);
      let body: Buffer = bytes;
      if (chunked) {
        headers.push(['transfer-encoding', 'chunked']);
        body = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]);
        if (bytes.length === 0) body = Buffer.from('0\r\n\r\n');
      }
      const request: RawRequest = { method: route.method, path: route.path, headers: [...route.headers, ...headers], body };
      // the judge sees the body as sent, before the chunked framing
      const judged = route.judge({ ...request, body: bytes });
      await check(
        central,
        T_ENCODING,
        {
          kind: `${route.method} ${route.path}: ${kind}`,
          request,
          show: `${route.method} ${route.path} ${headers.map(([n, v]) => `${n}: ${v}`).join(' ')} body: ${show}`,
        },
        judged,
      );
    });
    expectNoFindings(T_ENCODING);
  });

  const T_CONTENT = 'memory: record content in a well-formed push (\\u0000, surrogates, nesting, __proto__, numbers, sizes)';
  it(T_CONTENT, async () => {
    await pushContentEdges(central, T_CONTENT);
    const second = await startMemoryCentral('memory central 2');
    try {
      await fuzzPushContent(second, T_CONTENT, 150);
    } finally {
      await second.close();
    }
    expectNoFindings(T_CONTENT);
  });

  const T_PULL = 'memory: POST /sync/v1/pull cursors, limits and bodies, as Remote site 1 and unauthenticated';
  it(T_PULL, async () => {
    await fuzzPull(central, T_PULL, 240);
    expectNoFindings(T_PULL);
  });

  const T_STATUS = 'memory: GET /sync/v1/status and /sync/v1/site query strings';
  it(T_STATUS, async () => {
    await fuzzStatus(central, T_STATUS, 150);
    expectNoFindings(T_STATUS);
  });

  const T_HEADERS = 'memory: sync routes with bad, missing and odd Authorization and x-sitesync headers';
  it(T_HEADERS, async () => {
    // wrong passwords block Remote site 2 on this test's central
    await fuzzSyncHeaders(central, T_HEADERS, 260);
    expectNoFindings(T_HEADERS);
  });

  const T_ADMIN_AUTH = 'memory: admin routes with bad, missing and odd admin tokens, and site credentials';
  const T_ADMIN = 'memory: admin route bodies and path parameters';
  const T_ADMIN_CONTENT = 'memory: POST /admin/v1/records record content';
  it(T_ADMIN_AUTH, async () => {
    await fuzzAdminAuth(central, T_ADMIN_AUTH, 160);
    expectNoFindings(T_ADMIN_AUTH);
  });

  it(T_ADMIN, async () => {
    await fuzzAdminBodies(central, T_ADMIN, 400);
    expectNoFindings(T_ADMIN);
  });

  it(T_ADMIN_CONTENT, async () => {
    await adminContentEdges(central, T_ADMIN_CONTENT);
    const second = await startMemoryCentral('memory central 2');
    try {
      await fuzzAdminRecordContent(second, T_ADMIN_CONTENT, 80);
    } finally {
      await second.close();
    }
    expectNoFindings(T_ADMIN_CONTENT);
  });

  const T_LIMIT = 'memory: bodies over the limit (plain, gzip, deflate and br bombs, declared lengths)';
  it(T_LIMIT, async () => {
    const small = await startMemoryCentral('16kb central', { bodyLimit: '16kb' });
    try {
      await fuzzBodyLimit(small, central, T_LIMIT);
    } finally {
      await small.close();
    }
    expectNoFindings(T_LIMIT);
  });
});

// ---- the central server on embedded PGlite ------------------------------------------------------

describe('API fuzz on the central server (startCentralServer) on embedded PGlite', () => {
  let server: FuzzCentral;
  beforeAll(async () => {
    server = await startServerCentral('PGlite central server');
  }, 60_000);
  afterAll(() => server.close());

  const T_PG_CURSORS = 'PGlite: pull and status cursors and limits';
  it(T_PG_CURSORS, async () => {
    await fuzzPull(server, T_PG_CURSORS, 40);
    await fuzzStatus(server, T_PG_CURSORS, 30);
    expectNoFindings(T_PG_CURSORS);
  });

  const T_SLOW = 'PGlite: slow clients stall in headers and bodies while others are served';
  it(T_SLOW, async () => {
    await slowClients(server, T_SLOW);
    expectNoFindings(T_SLOW);
  });

  const T_HTTP = 'PGlite: requests the HTTP parser refuses (header bytes, framing, sizes)';
  it(T_HTTP, async () => {
    await httpLevel(server, T_HTTP);
    expectNoFindings(T_HTTP);
  });

  const T_PG_CONTENT = 'PGlite: record content in a well-formed push and in POST /admin/v1/records';
  it(T_PG_CONTENT, async () => {
    await pushContentEdges(server, T_PG_CONTENT, true);
    await fuzzPushContent(server, T_PG_CONTENT, 30);
    await adminContentEdges(server, T_PG_CONTENT, true);
    await fuzzAdminRecordContent(server, T_PG_CONTENT, 10);
    expectNoFindings(T_PG_CONTENT);
  });

  const T_PG_NAMES = 'PGlite: batch ids, site names, store codes and header values holding \\u0000 and lone surrogates';
  it(T_PG_NAMES, async () => {
    await fuzzNames(server, T_PG_NAMES, 25);
    expectNoFindings(T_PG_NAMES);
  });
});

afterAll(() => {
  // The case count, to quote.
  console.log(findings.summary());
});

// ---- pull, status and headers ------------------------------------------------------------------------

const CURSOR_STRINGS = [
  '0',
  '1',
  '007',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999',
  '0000000000000000000',
  '00000000000000000000',
  '9'.repeat(19),
  '9'.repeat(25),
  '1'.repeat(1000),
  '-1',
  '-0',
  '1.5',
  '1e3',
  '1E3',
  ' 1',
  '1 ',
  '+1',
  '0x10',
  '',
  '١٢٣',
  '１',
  'NaN',
  'Infinity',
  '1\u0000',
  '\ud800',
];
const cursorString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CURSOR_STRINGS) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: -1n }).map(String) },
  { weight: 1, arbitrary: fc.double({ noNaN: true }).map(String) },
);
const cursorValue: fc.Arbitrary<J> = fc.oneof({ weight: 4, arbitrary: cursorString }, { weight: 1, arbitrary: wrongValue });
const limitValue: fc.Arbitrary<J> = fc.oneof(
  fc.integer({ min: -10, max: 6000 }),
  fc.constantFrom<J>(
    new JRaw('1e3'),
    new JRaw('1e400'),
    new JRaw('-0'),
    new JRaw('1.0'),
    new JRaw('5000.0000000000001'),
    new JRaw('99999999999999999999'),
    '10',
    1.5,
    0.1,
  ),
  wrongValue,
);

async function fuzzPull(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const template = (): J => obj({ cursor: '0', limit: 10 });
  const bodies = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ cursor: cursorValue, limit: fc.oneof({ weight: 3, arbitrary: fc.constant<J>(10) }, { weight: 2, arbitrary: limitValue }) })
        .map(({ cursor, limit }) => textBody(`cursor and limit`, jsonText(obj({ cursor, limit })))),
    },
    {
      weight: 1,
      arbitrary: mutations([['cursor'], ['limit']], [[]]).map((m) => textBody('a pull with wrong or unknown fields', jsonText(mutate(template(), m)))),
    },
    { weight: 1, arbitrary: wholeBodies(() => jsonText(template())) },
  );
  await fuzz(bodies, numRuns, async (body) => {
    let kind = body.kind;
    const parsed = effectiveBody({ method: 'POST', path: '', headers: JSON_TYPE, body: body.bytes }, central.bodyLimitBytes);
    if (parsed.ok && isPlainObject(parsed.value) && typeof parsed.value['cursor'] === 'string') {
      const cursor = parsed.value['cursor'];
      kind = /^\d+$/.test(cursor)
        ? BigInt(cursor) > MAX_CURSOR
          ? 'a cursor beyond 2^63 - 1'
          : cursor.length > 19
            ? 'a cursor of more than 19 digits'
            : 'a cursor within range'
        : 'a cursor that is not digits';
    }
    for (const [who, auth] of [
      ['site', SITE],
      ['unauthenticated', SITE_UNAUTHENTICATED],
    ] as const) {
      const request: RawRequest = { method: 'POST', path: '/sync/v1/pull', headers: [...auth, ...JSON_TYPE], body: body.bytes };
      const show = `POST /sync/v1/pull ${who === 'site' ? '[as Remote site 1]' : '[no authorization]'} body: ${body.show}`;
      await check(central, test, { kind: `${kind} (${who})`, request, show }, who === 'site' ? judgePull(central, request) : unauthenticated);
    }
  });
}

async function fuzzStatus(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const queries = fc.oneof(
    cursorString.map((c) => ({ kind: 'cursor', query: `cursor=${percentEncode(c, /[^A-Za-z0-9\-._~]/)}` })),
    cursorString.map((c) => ({ kind: 'cursor', query: `cursor=${percentEncode(c, /[^\x21-\x7e]/)}` })),
    fc
      .constantFrom(
        '',
        'cursor=',
        'cursor',
        'cursor=1&cursor=2',
        'cursor[]=1',
        'cursor[a]=1',
        'cursor=%',
        'cursor=%ZZ',
        'cursor=%00',
        'cursor=%FF',
        'cursor=1%00',
        'cursor=%E0%A4%A',
        '%=1',
        'cursor=+1',
        'cursor=1+',
        'x=1',
        '__proto__=1',
        '__proto__[cursor]=1',
        'constructor=1',
        'cursor=0&__proto__=x',
        `cursor=${'9'.repeat(5000)}`,
        `${'a=1&'.repeat(2000)}cursor=0`,
      )
      .map((query) => ({ kind: 'query string', query })),
  );
  await fuzz(fc.record({ q: queries, route: fc.constantFrom('/sync/v1/status', '/sync/v1/site') }), numRuns, async ({ q, route }) => {
    const path = `${route}${q.query === '' ? '' : `?${q.query}`}`;
    const parsed = parseQueryString(q.query);
    const cursor = parsed['cursor'] ?? '0';
    const valid = route === '/sync/v1/site' || validCursor(cursor);
    const kind =
      route === '/sync/v1/site'
        ? 'GET /sync/v1/site with a query string'
        : typeof cursor === 'string' && /^\d+$/.test(cursor)
          ? BigInt(cursor) > MAX_CURSOR
            ? 'status cursor beyond 2^63 - 1'
            : cursor.length > 19
              ? 'status cursor of more than 19 digits'
              : 'status cursor within range'
          : `status ${q.kind} that is not a cursor`;
    for (const [who, auth] of [
      ['site', SITE],
      ['unauthenticated', SITE_UNAUTHENTICATED],
    ] as const) {
      const request: RawRequest = { method: 'GET', path, headers: auth };
      const show = `GET ${path} ${who === 'site' ? '[as Remote site 1]' : '[no authorization]'}`;
      await check(central, test, { kind: `${kind} (${who})`, request, show }, (res, changed) => {
        if (who !== 'site') return unauthenticated(res, changed);
        if (!valid) return expectError(res, changed, ['validation_failed']);
        return expectAnswer(res, changed, 200, route === '/sync/v1/site' ? siteInfoResponseSchema : statusResponseSchema);
      });
    }
  });
}

/** Percent-encodes the UTF-8 bytes of `text` that match `unsafe` (a lone surrogate is sent as the bytes of U+FFFD). */
function percentEncode(text: string, unsafe: RegExp): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) => (unsafe.test(String.fromCharCode(b)) || b >= 0x80 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)))
    .join('');
}

/** One component of a request's headers, and whether the documentation makes it valid (true), invalid (false), or leaves it open. */
interface HeaderPart {
  readonly label: string;
  readonly headers: readonly [string, string | Buffer][];
  readonly valid: boolean | 'either';
}

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const HEX1 = sha256Hex(passwordOf(REMOTE1));

async function fuzzSyncHeaders(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const auth: HeaderPart[] = [
    { label: 'right credentials', headers: [['authorization', `Basic ${b64(`Remote site 1:${HEX1}`)}`]], valid: true },
    { label: 'scheme in lower case', headers: [['authorization', `basic ${b64(`Remote site 1:${HEX1}`)}`]], valid: 'either' },
    { label: 'password hex in upper case', headers: [['authorization', `Basic ${b64(`Remote site 1:${HEX1.toUpperCase()}`)}`]], valid: 'either' },
    { label: 'base64 without padding', headers: [['authorization', `Basic ${b64(`Remote site 1:${HEX1}`).replace(/=+$/, '')}`]], valid: 'either' },
    { label: 'spaces around the credentials', headers: [['authorization', `Basic    ${b64(`Remote site 1:${HEX1}`)}   `]], valid: 'either' },
    { label: 'no authorization', headers: [], valid: false },
    { label: 'empty authorization', headers: [['authorization', '']], valid: false },
    { label: '"Basic" alone', headers: [['authorization', 'Basic']], valid: false },
    { label: '"Basic " and spaces', headers: [['authorization', 'Basic    ']], valid: false },
    { label: 'base64 of no colon', headers: [['authorization', `Basic ${b64('Remote site 1')}`]], valid: false },
    { label: 'base64 of a leading colon', headers: [['authorization', `Basic ${b64(`:${HEX1}`)}`]], valid: false },
    { label: 'base64 of invalid UTF-8', headers: [['authorization', `Basic ${b64(Buffer.from([0xff, 0xfe, 0x3a, 0x61]))}`]], valid: false },
    { label: 'base64 of \\u0000', headers: [['authorization', `Basic ${b64(`Remote site 1\u0000:${HEX1}`)}`]], valid: false },
    { label: 'not base64', headers: [['authorization', 'Basic !!!not-base64!!!']], valid: false },
    { label: 'base64 with a dash', headers: [['authorization', 'Basic a-b_c']], valid: false },
    { label: 'an 8 kB credential', headers: [['authorization', `Basic ${b64(`${'x'.repeat(6000)}:${HEX1}`)}`]], valid: false },
    { label: 'a bearer token', headers: [['authorization', `Bearer ${ADMIN_TOKEN}`]], valid: false },
    { label: 'Digest scheme', headers: [['authorization', 'Digest username="Remote site 1"']], valid: false },
    { label: 'unknown site name', headers: [['authorization', `Basic ${b64(`No such site:${HEX1}`)}`]], valid: false },
    { label: 'site name in other case', headers: [['authorization', `Basic ${b64(`REMOTE SITE 1:${HEX1}`)}`]], valid: 'either' },
    { label: 'wrong password (Remote site 2)', headers: [['authorization', `Basic ${b64(`Remote site 2:${sha256Hex('wrong')}`)}`]], valid: false },
    { label: 'clear password (Remote site 2)', headers: [['authorization', `Basic ${b64(`Remote site 2:${passwordOf(REMOTE2)}`)}`]], valid: false },
    { label: 'right password with a newline', headers: [['authorization', `Basic ${b64(`Remote site 2:${sha256Hex(passwordOf(REMOTE2))}\n`)}`]], valid: false },
  ];
  const version: HeaderPart[] = [
    { label: 'version 1', headers: [[HEADERS.apiVersion, '1']], valid: true },
    { label: 'version " 1 "', headers: [[HEADERS.apiVersion, '  1  ']], valid: 'either' },
    { label: 'version 01', headers: [[HEADERS.apiVersion, '01']], valid: 'either' },
    ...['', '0', '2', '-1', '1.0', '1e0', '+1', 'one', '999999', '1000000', '99999999999999999999', '1, 1', '1\t1', '١'].map((v): HeaderPart => ({
      label: `version ${JSON.stringify(v)}`,
      headers: [[HEADERS.apiVersion, v]],
      valid: false,
    })),
    { label: 'no version', headers: [], valid: false },
    {
      label: 'version twice',
      headers: [
        [HEADERS.apiVersion, '1'],
        [HEADERS.apiVersion, '1'],
      ],
      valid: 'either',
    },
  ];
  const device: HeaderPart[] = [
    { label: 'its device', headers: [[HEADERS.hardwareId, 'hw-1']], valid: true },
    { label: 'its device, spaced', headers: [[HEADERS.hardwareId, '  hw-1  ']], valid: 'either' },
    { label: 'no device', headers: [], valid: false },
    { label: 'empty device', headers: [[HEADERS.hardwareId, '']], valid: false },
    { label: 'another device', headers: [[HEADERS.hardwareId, 'hw-2']], valid: false },
    { label: 'device in other case', headers: [[HEADERS.hardwareId, 'HW-1']], valid: false },
    { label: 'a 201-character device', headers: [[HEADERS.hardwareId, 'h'.repeat(201)]], valid: false },
    { label: 'a 5,000-character device', headers: [[HEADERS.hardwareId, 'h'.repeat(5_000)]], valid: false },
    { label: 'latin-1 bytes in the device', headers: [[HEADERS.hardwareId, Buffer.from([0x68, 0x77, 0xff, 0xe9])]], valid: false },
    { label: 'UTF-8 bytes in the device', headers: [[HEADERS.hardwareId, Buffer.from('hw-ü', 'utf8')]], valid: false },
    {
      label: 'device twice',
      headers: [
        [HEADERS.hardwareId, 'hw-1'],
        [HEADERS.hardwareId, 'hw-1'],
      ],
      valid: 'either',
    },
  ];
  const app: HeaderPart[] = [
    {
      label: 'app name and version',
      headers: [
        [HEADERS.appName, 'test-app'],
        [HEADERS.appVersion, '1.2.3'],
      ],
      valid: true,
    },
    { label: 'no app name or version', headers: [], valid: true },
    { label: '200-character app name', headers: [[HEADERS.appName, 'n'.repeat(200)]], valid: true },
    { label: '201-character app version', headers: [[HEADERS.appVersion, 'v'.repeat(201)]], valid: false },
    { label: 'latin-1 bytes in the app name', headers: [[HEADERS.appName, Buffer.from([0xe9, 0xff, 0x80])]], valid: 'either' },
    { label: 'an app version of spaces', headers: [[HEADERS.appVersion, '   ']], valid: true },
    { label: 'app name "__proto__"', headers: [[HEADERS.appName, '__proto__']], valid: true },
  ];
  const routes = [
    { method: 'GET', path: '/sync/v1/site', body: () => undefined as string | undefined, schema: siteInfoResponseSchema },
    { method: 'GET', path: '/sync/v1/status?cursor=0', body: () => undefined as string | undefined, schema: statusResponseSchema },
    { method: 'POST', path: '/sync/v1/pull', body: () => '{"cursor":"0","limit":5}', schema: pullResponseSchema },
    { method: 'POST', path: '/sync/v1/push', body: () => jsonText(obj({ batchId: fresh('fz-h'), records: [] })), schema: pushResponseSchema },
  ];
  const pick = <T>(list: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...list);
  const parts = fc.record({
    auth: fc.oneof({ weight: 1, arbitrary: fc.constant(auth[0]!) }, { weight: 2, arbitrary: pick(auth) }),
    version: fc.oneof({ weight: 2, arbitrary: fc.constant(version[0]!) }, { weight: 1, arbitrary: pick(version) }),
    device: fc.oneof({ weight: 2, arbitrary: fc.constant(device[0]!) }, { weight: 1, arbitrary: pick(device) }),
    app: pick(app),
    route: pick(routes),
  });
  await fuzz(parts, numRuns, async ({ auth: a, version: v, device: d, app: p, route }) => {
    const chosen = [a, v, d, p];
    const valid = chosen.some((x) => x.valid === false) ? false : chosen.every((x) => x.valid === true) ? true : 'either';
    const body = route.body();
    const headers: Headers = [...a.headers, ...v.headers, ...d.headers, ...p.headers, ...(body !== undefined ? JSON_TYPE : [])];
    const request: RawRequest = { method: route.method, path: route.path, headers, ...(body !== undefined ? { body: Buffer.from(body) } : {}) };
    const show = `${route.method} ${route.path} with ${chosen.map((x) => x.label).join(', ')}`;
    const bad = chosen.filter((x) => x.valid !== true).map((x) => x.label);
    await check(central, test, { kind: bad.length === 0 ? 'valid headers' : bad.join(', '), request, show }, (res, changed) => {
      if (valid === true && errorCodeOf(res) === 'rate_limited')
        return [{ what: '429 rate_limited for the right credentials from the bound device, after failed logins of other cases from the same address' }];
      if (valid === true) return expectAnswer(res, changed, 200, route.schema);
      if (valid === 'either' && res.status === 200) return expectAnswer(res, changed, 200, route.schema);
      return expectError(res, changed, [
        'auth_required',
        'site_auth_failed',
        'site_incorrect_hardware_id',
        'site_blocked',
        'api_version_incompatible',
        'validation_failed',
        'rate_limited',
      ]);
    });
  });
  // Remote site 2 took wrong passwords: it is blocked now, and says so.
  const blocked = await sendRaw(central.port, { method: 'GET', path: '/sync/v1/site', headers: Object.entries(headersOf(REMOTE2)) });
  findings.count(test);
  if (!['site_blocked', 'site_auth_failed', 'rate_limited'].includes(errorCodeOf(blocked) ?? '') && blocked.status !== 200)
    findings.add(
      test,
      'a site after wrong passwords',
      { what: 'not 403 site_blocked nor 200' },
      `GET /sync/v1/site as Remote site 2 after ${MAX_FAILED_LOGINS}+ failures`,
      describeAnswer(blocked),
    );
}

// ---- record content ------------------------------------------------------------------------------------

/** Data of a record: one hostile field among ordinary ones. */
interface ContentCase {
  readonly kind: string;
  /** the data object's JSON text */
  readonly data: string;
  readonly show: string;
  /** routing fields to set instead of the defaults */
  readonly fields?: Record<string, string>;
}

const dataOf = (kind: string, entries: string, show?: string): ContentCase => ({
  kind,
  data: `{"qty":1,${entries}}`,
  show: show ?? preview(`{"qty":1,${entries}}`, 200),
});

/** Cases of sizes: the central checks them before any storage sees the record, so they run on in-memory storage only. */
const SIZE_CASES = /characters|small numbers|array elements/;

/** Cases sent once each: the limits, their edges, and what the issue names. */
function contentEdgeCases(): ContentCase[] {
  const zeros = (n: number): string => `[${new Array<string>(n).fill('0').join(',')}]`;
  return [
    dataOf('a string holding \\u0000', '"note":"a\\u0000b"'),
    dataOf('a key holding \\u0000', '"a\\u0000b":1'),
    dataOf('a lone high surrogate', '"note":"\\ud800"'),
    dataOf('a lone low surrogate', '"note":"\\udc00x"'),
    dataOf('surrogates in the wrong order', '"note":"\\udc8a\\ud83d"'),
    dataOf('a surrogate pair (valid)', '"note":"\\ud83d\\udc8a"'),
    dataOf('a lone surrogate in a key', '"\\ud800":1'),
    dataOf('noncharacters U+FFFE and U+FFFF (valid)', '"note":"\\ufffe\\uffff"'),
    dataOf('a "__proto__" key', '"__proto__":{"polluted":true}'),
    dataOf('a "__proto__" key holding null', '"__proto__":null'),
    dataOf('a nested "__proto__" key', '"a":{"b":[{"__proto__":{"x":1}}]}'),
    dataOf('"constructor" and "prototype" keys (valid)', '"constructor":{"prototype":{"polluted":true}},"prototype":1'),
    dataOf('a "toString" key (valid)', '"toString":"x","hasOwnProperty":1'),
    dataOf('nesting 32 deep (the limit)', `"n":${nestedText(31)}`, '{"n": 31 levels} (32 with data)'),
    dataOf('nesting 33 deep', `"n":${nestedText(32)}`, '{"n": 32 levels} (33 with data)'),
    dataOf('nesting 5,000 deep', `"n":${nestedText(5_000)}`, '{"n":{"d":[{"d":[... 5,000 levels]}]}}'),
    dataOf('nesting 100,000 deep', `"n":${nestedText(100_000)}`, '{"n":{"d":[{"d":[... 100,000 levels]}]}}'),
    dataOf('1e400 (not finite)', '"n":1e400'),
    dataOf('-1e400 (not finite)', '"n":-1e400'),
    dataOf('1e-400 (underflows to 0, valid)', '"n":1e-400'),
    dataOf('-0 (valid)', '"n":-0'),
    dataOf('an integer beyond 2^64 (valid, as a double)', '"n":99999999999999999999'),
    dataOf('the largest double (valid)', '"n":1.7976931348623157e308'),
    dataOf('a string of 1,000,000 characters (the limit)', `"s":"${'s'.repeat(1_000_000)}"`, '{"s": 1,000,000 characters}'),
    dataOf('a string of 1,000,001 characters', `"s":"${'s'.repeat(1_000_001)}"`, '{"s": 1,000,001 characters}'),
    dataOf(
      'three strings of 800,000 characters (2.4 MB of JSON)',
      ['a', 'b', 'c'].map((k) => `"${k}":"${'x'.repeat(800_000)}"`).join(','),
      '{"a","b","c": 800,000 characters each}',
    ),
    dataOf('90,000 small numbers (180 kB of JSON, within the limits)', `"z":${zeros(90_000)}`, '{"z":[0,0,... 90,000 zeros]}'),
    dataOf('100,001 array elements', `"z":${zeros(100_001)}`, '{"z":[0,0,... 100,001 zeros]}'),
    dataOf('a key of 1,000,001 characters', `"${'k'.repeat(1_000_001)}":1`, '{"kkk... 1,000,001 characters": 1}'),
    { kind: 'an id holding \\u0000', data: '{"qty":1}', show: 'id "fz-\\u0000"', fields: { id: 'fz-\u0000' } },
    { kind: 'an id with a lone surrogate', data: '{"qty":1}', show: 'id "fz-\\ud800"', fields: { id: 'fz-\ud800' } },
    { kind: 'a type holding \\u0000', data: '{"qty":1}', show: 'type "stock_line\\u0000"', fields: { type: 'stock_line\u0000' } },
    { kind: 'a storeId holding \\u0000', data: '{"qty":1}', show: 'storeId "B\\u0000"', fields: { storeId: 'B\u0000' } },
    { kind: 'a patientId with a lone surrogate', data: '{"qty":1}', show: 'patientId "\\udc00"', fields: { patientId: '\udc00' } },
    { kind: 'an id of 200 characters (the limit)', data: '{"qty":1}', show: 'id of 200 characters', fields: { id: `fz-${'i'.repeat(197)}` } },
    {
      kind: 'a transfer line whose header id holds \\u0000',
      data: '{"transactionId":"t\\u0000","itemId":"i","numberOfPacks":1}',
      show: '{"transactionId":"t\\u0000",...} (a transaction_line)',
      fields: { type: 'transaction_line' },
    },
  ];
}

const contentArbitrary: fc.Arbitrary<ContentCase> = fc.oneof(
  fc.tuple(weirdKey, weirdString).map(([k, v]) => dataOf('an odd key and string', `${JSON.stringify(k)}:${JSON.stringify(v)}`)),
  fc
    .tuple(fc.array(weirdKey, { minLength: 1, maxLength: 3 }), anyJson)
    .map(([keys, v]) => dataOf('an odd value under odd keys', `"a":${keys.reduceRight((inner, k) => `{${JSON.stringify(k)}:${inner}}`, jsonText(v))}`)),
  fc
    .integer({ min: 25, max: 40 })
    .map((depth) => dataOf(`nesting near the limit`, `"n":${nestedText(depth)}`, `{"n": ${depth} levels} (${depth + 1} with data)`)),
  numberToken.map((n) => dataOf('a number token', `"n":${jsonText(n)}`)),
  fc.array(fc.tuple(weirdKey, anyJson), { maxLength: 5 }).map((entries) => dataOf('random data', jsonText(new JObj(entries)).slice(1, -1) || '"e":0')),
);

/** Pushes a record whose content is hostile, as Remote site 1 (store B, which it may write), alone or before an ordinary record. */
async function pushContent(central: FuzzCentral, test: string, c: ContentCase, withOrdinary: boolean): Promise<void> {
  {
    const base: Record<string, string> = { type: 'stock_line', id: fresh('fz-content'), storeId: 'B', ...c.fields };
    const head = Object.entries(base)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(',');
    const ordinary = `{"type":"stock_line","id":"${fresh('fz-ordinary')}","storeId":"B","data":{"qty":2}}`;
    const batchId = fresh('fz-content-batch');
    const text = `{"batchId":"${batchId}","records":[{${head},"data":${c.data}}${withOrdinary ? `,${ordinary}` : ''}]}`;
    const request: RawRequest = { method: 'POST', path: '/sync/v1/push', headers: [...SITE, ...JSON_TYPE], body: Buffer.from(text) };
    const show = `POST /sync/v1/push [as Remote site 1] {"batchId":"${batchId}","records":[{${preview(head, 120)},"data":${c.show}}${withOrdinary ? ', an ordinary record' : ''}]}`;
    await check(central, test, { kind: `push: ${c.kind}`, request, show }, judgePush(central, request), () => pullsStillWork(central));
  }
}

/** Each edge case once; with an ordinary record after it on in-memory storage (the rest of the batch is stored), alone on Postgres (faster: no transfer processing). */
async function pushContentEdges(central: FuzzCentral, test: string, postgres = false): Promise<void> {
  for (const c of contentEdgeCases()) if (!postgres || !SIZE_CASES.test(c.kind) || /id of 200/.test(c.kind)) await pushContent(central, test, c, !postgres);
}

async function fuzzPushContent(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  await fuzz(fc.record({ c: contentArbitrary, withOrdinary: fc.boolean() }), numRuns, ({ c, withOrdinary }) => pushContent(central, test, c, withOrdinary));
}

/** A poison record never blocks: after it, a pull of Remote site 1 still answers 200 (a later push is the next case). */
async function pullsStillWork(central: FuzzCentral): Promise<Problem[]> {
  const pull = await sendRaw(central.port, {
    method: 'POST',
    path: '/sync/v1/pull',
    headers: [...SITE, ...JSON_TYPE],
    body: Buffer.from('{"cursor":"0","limit":50}'),
  });
  return pull.status === 200 ? [] : [{ what: 'pulls fail afterwards', detail: describeAnswer(pull, central) }];
}

// ---- admin ----------------------------------------------------------------------------------------------

const badBody: Judge = (res, changed) => expectError(res, changed, ['validation_failed', 'payload_too_large']);
const okAnswer =
  (status: number, schema: { safeParse(v: unknown): { success: boolean } }, orCodes: readonly string[] = ['topology_rule_violated']): Judge =>
  (res, changed) =>
    res.status >= 400 && res.status < 500 && orCodes.includes(errorCodeOf(res) ?? '')
      ? expectError(res, changed, orCodes)
      : expectAnswer(res, changed, status, schema);

function judgeAdminRecords(central: FuzzCentral, request: RawRequest): Judge {
  return judgeBody(central, request, (value) => {
    if (!isPlainObject(value) || !Array.isArray(value['records']) || value['records'].length > 5000 || !value['records'].every(hasRecordShape)) return badBody;
    const records = value['records'] as Record<string, unknown>[];
    return async (res, changed) => {
      if (res.status >= 400 && res.status < 500) {
        const problems = expectError(res, changed, ['record_refused', 'validation_failed']);
        const broken = records.map(brokenRecordLimit);
        if (
          errorCodeOf(res) === 'record_refused' &&
          broken.every((b) => b === null) &&
          /record\.(invalid-text|reserved-key|too-deep|too-large|string-too-long|invalid-data)/.test(res.text)
        )
          problems.push({ what: 'refused for content although within the documented limits', detail: preview(res.text, 200) });
        return problems;
      }
      const problems = expectAnswer(res, changed, 200, putRecordsResponseSchema, true);
      if (problems.length > 0) return problems;
      const keys = new Set(records.map((r) => `${String(r['type'])}:${String(r['id'])}`));
      const unexpected = changed.filter((k) => !keys.has(k));
      if (unexpected.length > 0) problems.push({ what: 'records not sent changed in storage', detail: unexpected.join(', ') });
      for (const record of records) {
        const broken = brokenRecordLimit(record);
        if (broken) {
          problems.push({ what: `stored a record over the documented limits: ${broken}` });
          continue;
        }
        const back = await storedAsPulled(central, String(record['type']), String(record['id']));
        const difference = back === null ? 'not found' : sameRecord(record, back);
        if (difference) problems.push({ what: 'a stored record differs from what was sent', detail: difference });
      }
      return problems;
    };
  });
}

async function adminContent(central: FuzzCentral, test: string, c: ContentCase): Promise<void> {
  {
    const base: Record<string, string> = { type: 'item', id: fresh('fz-item'), ...c.fields };
    if (base['storeId'] !== undefined) base['storeId'] = 'A' + base['storeId'].slice(1);
    const head = Object.entries(base)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(',');
    const text = `{"records":[{${head},"data":${c.data}}]}`;
    const request: RawRequest = { method: 'POST', path: '/admin/v1/records', headers: [...ADMIN, ...JSON_TYPE], body: Buffer.from(text) };
    const show = `POST /admin/v1/records [admin token] {"records":[{${preview(head, 120)},"data":${c.show}}]}`;
    await check(central, test, { kind: `admin records: ${c.kind}`, request, show }, judgeAdminRecords(central, request), () => pullsStillWork(central));
  }
}

async function adminContentEdges(central: FuzzCentral, test: string, postgres = false): Promise<void> {
  for (const c of contentEdgeCases()) if (!postgres || !SIZE_CASES.test(c.kind) || /id of 200/.test(c.kind)) await adminContent(central, test, c);
}

async function fuzzAdminRecordContent(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  await fuzz(contentArbitrary, numRuns, (c) => adminContent(central, test, c));
}

/** How the documentation reads a site id in a path: an existing site, no such site, or not a positive whole number. */
const SITE_ID_SEGMENTS = [
  '1',
  '2',
  '3',
  '0002',
  '99',
  '999999999',
  '1000000000',
  '0',
  '-1',
  '1.5',
  '1e3',
  '0x2',
  'abc',
  '%20',
  '%ZZ',
  '%',
  '%00',
  '%E0%A4%A',
  '2%00',
  '%32',
  '..',
  '.',
  '9'.repeat(30),
  '%EF%BC%92',
  '__proto__',
  'constructor',
];
const STORE_ID_SEGMENTS = [
  'A',
  'B',
  'F',
  'a',
  'ZZ',
  '%00',
  '%',
  '%ZZ',
  '%E0%A4%A',
  '__proto__',
  'constructor',
  'toString',
  '%F0%9F%92%8A',
  'x'.repeat(300),
  '..',
];

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

async function fuzzAdminAuth(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const tokens: { label: string; value: string | Buffer | null; valid: boolean | 'either' }[] = [
    { label: 'the admin token', value: `Bearer ${ADMIN_TOKEN}`, valid: true },
    { label: 'scheme in lower case', value: `bearer ${ADMIN_TOKEN}`, valid: 'either' },
    { label: 'spaces around the token', value: `Bearer    ${ADMIN_TOKEN}   `, valid: 'either' },
    { label: 'no authorization', value: null, valid: false },
    { label: 'empty authorization', value: '', valid: false },
    { label: '"Bearer" alone', value: 'Bearer', valid: false },
    { label: '"Bearer " and spaces', value: 'Bearer    ', valid: false },
    { label: 'the token and one more character', value: `Bearer ${ADMIN_TOKEN}x`, valid: false },
    { label: 'the token but its last character', value: `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, valid: false },
    { label: 'the token in upper case', value: `Bearer ${ADMIN_TOKEN.toUpperCase()}`, valid: false },
    { label: 'two tokens', value: `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`, valid: false },
    { label: 'the token without a scheme', value: ADMIN_TOKEN, valid: false },
    { label: 'the token as Basic', value: `Basic ${b64(`admin:${ADMIN_TOKEN}`)}`, valid: false },
    { label: 'site credentials', value: headersOf(REMOTE1)['authorization']!, valid: false },
    { label: 'a 10,000-character token', value: `Bearer ${'t'.repeat(10_000)}`, valid: false },
    { label: 'latin-1 bytes in the token', value: Buffer.concat([Buffer.from('Bearer '), Buffer.from([0xe9, 0xff, 0x80])]), valid: false },
    { label: '__proto__ as the token', value: 'Bearer __proto__', valid: false },
  ];
  const routes: { method: string; path: string; body?: string; schema: { safeParse(v: unknown): { success: boolean } }; status: number }[] = [
    { method: 'GET', path: '/admin/v1/sites', schema: adminSitesResponseSchema, status: 200 },
    { method: 'GET', path: '/admin/v1/stores', schema: adminStoresResponseSchema, status: 200 },
    { method: 'GET', path: '/admin/v1/issues', schema: adminIssuesResponseSchema, status: 200 },
    { method: 'POST', path: '/admin/v1/sites/3/unblock', schema: adminSiteResponseSchema, status: 200 },
    { method: 'POST', path: '/admin/v1/sites/3/reset-hardware-id', schema: adminSiteResponseSchema, status: 200 },
    // invalid bodies: with the right token, 400; so nothing is written
    { method: 'POST', path: '/admin/v1/sites', body: '{}', schema: adminSiteResponseSchema, status: 400 },
    { method: 'PUT', path: '/admin/v1/sites/3/password', body: '{}', schema: adminSiteResponseSchema, status: 400 },
    { method: 'POST', path: '/admin/v1/stores', body: '{}', schema: adminStoreResponseSchema, status: 400 },
    { method: 'PUT', path: '/admin/v1/stores/B/copies/3', body: '{"type":"nope"}', schema: adminStoreResponseSchema, status: 400 },
    { method: 'POST', path: '/admin/v1/records', body: '{"records":"x"}', schema: putRecordsResponseSchema, status: 400 },
  ];
  await fuzz(
    fc.record({ token: fc.constantFrom(...tokens), route: fc.constantFrom(...routes), twice: fc.boolean() }),
    numRuns,
    async ({ token, route, twice }) => {
      const headers: [string, string | Buffer][] = [];
      if (token.value !== null) headers.push(['authorization', token.value]);
      if (twice && token.value !== null) headers.push(['authorization', 'Bearer wrong']);
      if (route.body !== undefined) headers.push(['content-type', 'application/json']);
      const request: RawRequest = { method: route.method, path: route.path, headers, ...(route.body !== undefined ? { body: Buffer.from(route.body) } : {}) };
      const label = `${token.label}${twice ? ', then a second wrong authorization header' : ''}`;
      await check(
        central,
        test,
        { kind: label, request, show: `${route.method} ${route.path} with ${label}${route.body ? ` body: ${route.body}` : ''}` },
        (res, changed) => {
          if (token.valid === false || (token.valid === 'either' && res.status === 401)) return expectError(res, changed, ['admin_auth_failed']);
          if (route.status === 400) return expectError(res, changed, ['validation_failed']);
          return expectAnswer(res, changed, route.status, route.schema);
        },
      );
    },
  );
  // and admin tokens on sync routes
  for (const path of ['/sync/v1/site', '/sync/v1/status']) {
    const request: RawRequest = { method: 'GET', path, headers: [...SITE_UNAUTHENTICATED, ...ADMIN] };
    await check(central, test, { kind: 'the admin token on a sync route', request }, (res, changed) => expectError(res, changed, ['auth_required']));
  }
}

async function fuzzAdminBodies(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const sitesBefore = async (): Promise<Set<number>> => {
    const res = await sendRaw(central.port, { method: 'GET', path: '/admin/v1/sites', headers: ADMIN });
    return new Set(adminSitesResponseSchema.parse(res.json).sites.map((s) => s.id));
  };
  const storesNow = async (): Promise<Set<string>> => {
    const res = await sendRaw(central.port, { method: 'GET', path: '/admin/v1/stores', headers: ADMIN });
    return new Set(adminStoresResponseSchema.parse(res.json).stores.map((s) => s.id));
  };
  const str = (v: unknown, min: number, max: number, trim = true): boolean =>
    typeof v === 'string' && (trim ? v.trim() : v).length >= min && (trim ? v.trim() : v).length <= max;
  const opt = (o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): boolean => !Object.hasOwn(o, key) || ok(o[key]);
  const positiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  const validSite = (v: unknown): boolean =>
    isPlainObject(v) &&
    str(v['name'], 1, 200) &&
    str(v['password'], 1, 1024, false) &&
    opt(v, 'code', (x) => str(x, 1, 200)) &&
    opt(v, 'deviceType', (x) => (DEVICE_TYPES as readonly unknown[]).includes(x)) &&
    opt(v, 'primary', (x) => typeof x === 'boolean') &&
    opt(v, 'syncIntervalMinutes', (x) => typeof x === 'number' && Number.isFinite(x) && x >= 1);
  const validStore = (v: unknown): boolean =>
    isPlainObject(v) &&
    str(v['code'], 1, 200) &&
    str(v['name'], 1, 200) &&
    opt(v, 'id', (x) => str(x, 1, 200)) &&
    positiveInt(v['activeSiteId']) &&
    ['isDispensary', 'includeTransactionsInSync', 'centralisedProcurement'].every((k) => opt(v, k, (x) => typeof x === 'boolean')) &&
    opt(v, 'centralCopy', (x) => x === 'collector' || x === 'transfer') &&
    opt(
      v,
      'copies',
      (x) =>
        Array.isArray(x) &&
        x.length <= 1000 &&
        x.every((c) => isPlainObject(c) && positiveInt(c['siteId']) && (COPY_TYPES as readonly unknown[]).includes(c['type'])),
    );

  /** What a path site id means: an existing site (200), a well-formed id of no site (404), or not a positive whole number (400). */
  const siteIdMeaning = async (segment: string): Promise<'site' | 'no site' | 'bad' | 'either'> => {
    const decoded = decodeSegment(segment);
    if (decoded === null || !/^\d+$/.test(decoded) || BigInt(decoded) === 0n) return 'bad';
    if (decoded !== segment || /^0/.test(decoded) || decoded.length > 9) return 'either';
    return (await sitesBefore()).has(Number(decoded)) ? 'site' : 'no site';
  };

  type AdminCase = { kind: string; method: string; path: string; body?: string; judge: () => Promise<Judge> };
  const siteTemplate = (): J => obj({ name: fresh('Fuzz site'), password: 'a password', code: fresh('FZ') });
  const storeTemplate = (): J => obj({ code: fresh('FZS'), name: 'Fuzz store', activeSiteId: 1 });
  const sitePaths: Path[] = [['name'], ['password'], ['code'], ['deviceType'], ['primary'], ['syncIntervalMinutes']];
  const storePaths: Path[] = [
    ['id'],
    ['code'],
    ['name'],
    ['activeSiteId'],
    ['isDispensary'],
    ['centralCopy'],
    ['copies'],
    ['copies', 0],
    ['copies', 0, 'siteId'],
    ['copies', 0, 'type'],
  ];

  const cases: fc.Arbitrary<AdminCase> = fc.oneof(
    // POST /admin/v1/sites
    mutations(sitePaths, [[]]).map((m): AdminCase => {
      const body = jsonText(mutate(siteTemplate(), m));
      return {
        kind: 'POST /admin/v1/sites body',
        method: 'POST',
        path: '/admin/v1/sites',
        body,
        judge: async () => {
          const request: RawRequest = { method: 'POST', path: '', headers: JSON_TYPE, body: Buffer.from(body) };
          return judgeBody(central, request, (v) => {
            if (!validSite(v)) return badBody;
            const sent = v as Record<string, unknown>;
            return (res, changed) => {
              const problems = okAnswer(201, adminSiteResponseSchema)(res, changed) as Problem[];
              if (res.status === 201 && isPlainObject(res.json)) {
                if (res.json['name'] !== (sent['name'] as string).trim())
                  problems.push({ what: 'the site was created with another name', detail: preview(JSON.stringify(res.json['name'])) });
                const primary = Array.isArray(res.json['roles']) && res.json['roles'].includes('primary');
                if (primary !== (sent['primary'] === true)) problems.push({ what: 'the primary role does not follow "primary"' });
              }
              return problems;
            };
          });
        },
      };
    }),
    fc
      .constantFrom(...GARBAGE)
      .map((text) => ({ kind: 'POST /admin/v1/sites: not a request body', method: 'POST', path: '/admin/v1/sites', body: text, judge: async () => badBody })),
    // PUT /admin/v1/sites/:id/password
    fc
      .record({ id: fc.constantFrom(...SITE_ID_SEGMENTS), password: fc.oneof(fc.constant<J>('new password'), wrongValue) })
      .map(({ id, password }): AdminCase => {
        const body = jsonText(obj({ password }));
        return {
          kind: 'PUT /admin/v1/sites/:id/password',
          method: 'PUT',
          path: `/admin/v1/sites/${id}/password`,
          body,
          judge: async () => {
            const meaning = await siteIdMeaning(id);
            const validPassword = typeof password === 'string' && password.length >= 1 && password.length <= 1024;
            return (res, changed) => {
              if (meaning === 'bad' || !validPassword) return expectError(res, changed, ['validation_failed', 'not_found']);
              if (meaning === 'no site') return expectError(res, changed, ['not_found']);
              if (meaning === 'either' && res.status !== 200) return expectError(res, changed, ['validation_failed', 'not_found']);
              return expectAnswer(res, changed, 200, adminSiteResponseSchema);
            };
          },
        };
      }),
    // POST /admin/v1/sites/:id/unblock and reset-hardware-id
    fc
      .record({
        id: fc.constantFrom(...SITE_ID_SEGMENTS),
        action: fc.constantFrom('unblock', 'reset-hardware-id'),
        body: fc.option(fc.constantFrom(...GARBAGE)),
      })
      .map(({ id, action, body }): AdminCase => ({
        kind: `POST /admin/v1/sites/:id/${action}`,
        method: 'POST',
        path: `/admin/v1/sites/${id}/${action}`,
        ...(body !== null ? { body } : {}),
        judge: async () => {
          const meaning = await siteIdMeaning(id);
          return (res, changed) => {
            if (meaning === 'bad') return expectError(res, changed, ['validation_failed', 'not_found']);
            if (meaning === 'no site') return expectError(res, changed, ['not_found']);
            if (meaning === 'either' && res.status !== 200) return expectError(res, changed, ['validation_failed', 'not_found']);
            return expectAnswer(res, changed, 200, adminSiteResponseSchema);
          };
        },
      })),
    // POST /admin/v1/stores
    mutations(storePaths, [[]]).map((m): AdminCase => {
      const body = jsonText(mutate(storeTemplate(), m));
      return {
        kind: 'POST /admin/v1/stores body',
        method: 'POST',
        path: '/admin/v1/stores',
        body,
        judge: async () =>
          judgeBody(central, { method: 'POST', path: '', headers: JSON_TYPE, body: Buffer.from(body) }, (v) =>
            validStore(v) ? okAnswer(201, adminStoreResponseSchema) : badBody,
          ),
      };
    }),
    // PUT /admin/v1/stores/:id/copies/:siteId
    fc
      .record({
        store: fc.constantFrom(...STORE_ID_SEGMENTS),
        site: fc.constantFrom(...SITE_ID_SEGMENTS),
        type: fc.oneof(fc.constantFrom<J>(...COPY_TYPES), wrongValue),
      })
      .map(({ store, site, type }): AdminCase => {
        const body = jsonText(obj({ type }));
        return {
          kind: 'PUT /admin/v1/stores/:id/copies/:siteId',
          method: 'PUT',
          path: `/admin/v1/stores/${store}/copies/${site}`,
          body,
          judge: async () => {
            const meaning = await siteIdMeaning(site);
            const storeId = decodeSegment(store);
            const storeExists = storeId !== null && (await storesNow()).has(storeId);
            const validType = (COPY_TYPES as readonly unknown[]).includes(type);
            return (res, changed) => {
              if (!validType || meaning === 'bad' || storeId === null) return expectError(res, changed, ['validation_failed', 'not_found']);
              if (!storeExists || meaning === 'no site') return expectError(res, changed, ['not_found', 'validation_failed']);
              if (res.status !== 200 && (meaning === 'either' || res.status === 422))
                return expectError(res, changed, ['validation_failed', 'not_found', 'topology_rule_violated']);
              return expectAnswer(res, changed, 200, adminStoreResponseSchema);
            };
          },
        };
      }),
    // POST /admin/v1/records (records the central may not write: store B is active on Remote site 1)
    mutations(
      [['records'], ['records', 0], ['records', 0, 'type'], ['records', 0, 'id'], ['records', 0, 'storeId'], ['records', 0, 'data'], ['records', 0, 'deleted']],
      [[], ['records', 0], ['records', 0, 'data']],
    ).map((m) => {
      const body = jsonText(mutate(obj({ records: [obj({ type: 'stock_line', id: fresh('fz-admin'), storeId: 'B', data: obj({ q: 1 }) })] }), m));
      return {
        kind: 'POST /admin/v1/records body',
        method: 'POST',
        path: '/admin/v1/records',
        body,
        judge: async () => judgeAdminRecords(central, { method: 'POST', path: '', headers: JSON_TYPE, body: Buffer.from(body) }),
      };
    }),
    // GET routes with a query string and a body
    fc
      .record({
        path: fc.constantFrom('/admin/v1/sites', '/admin/v1/stores', '/admin/v1/issues'),
        query: fc.constantFrom('', '?x=1', '?__proto__[x]=1', '?%', '?a=%ZZ'),
        body: fc.option(fc.constantFrom(...GARBAGE)),
      })
      .map(({ path, query, body }) => ({
        kind: 'GET admin list with a query and a body',
        method: 'GET',
        path: path + query,
        ...(body !== null ? { body } : {}),
        judge: async () => (res: RawResponse, changed: readonly string[]) =>
          expectAnswer(
            res,
            changed,
            200,
            path.endsWith('sites') ? adminSitesResponseSchema : path.endsWith('stores') ? adminStoresResponseSchema : adminIssuesResponseSchema,
          ),
      })),
  );
  await fuzz(cases, numRuns, async (c) => {
    const judge = await c.judge();
    const request: RawRequest = {
      method: c.method,
      path: c.path,
      headers: [...ADMIN, ...(c.body !== undefined ? JSON_TYPE : [])],
      ...(c.body !== undefined ? { body: Buffer.from(c.body) } : {}),
    };
    await check(
      central,
      test,
      { kind: c.kind, request, show: `${c.method} ${c.path} [admin token]${c.body !== undefined ? ` body: ${preview(c.body, 300)}` : ''}` },
      judge,
    );
  });
}

// ---- names, ids and header values with \u0000 and lone surrogates (Postgres text refuses \u0000) -----------

async function fuzzNames(central: FuzzCentral, test: string, numRuns: number): Promise<void> {
  const odd = fc.oneof(
    fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udc8a\ud83d', '\ud83d\udc8a', '\u0000\ud800', ' \u0000 '),
    fc.tuple(fc.string({ maxLength: 3 }), fc.constantFrom('\u0000', '\ud800', '\udfff'), fc.string({ maxLength: 3 })).map(([a, b, c]) => a + b + c),
  );
  const where = fc.constantFrom(
    'batchId',
    'site name',
    'site code',
    'site password',
    'store name',
    'store code',
    'store id',
    'copy store path',
    'basic auth name',
    'basic auth password',
    'app version header',
  );
  const places = [
    'batchId',
    'site name',
    'site code',
    'site password',
    'store name',
    'store code',
    'store id',
    'copy store path',
    'basic auth name',
    'basic auth password',
    'app version header',
  ];
  const each = places.flatMap((place) => ['a\u0000b', '\ud800', 'x\udc00'].map((text) => ({ where: place, text })));
  const run = async ({ where: place, text }: { where: string; text: string }): Promise<void> => {
    const shown = preview(JSON.stringify(text));
    let request: RawRequest;
    let judge: Judge;
    switch (place) {
      case 'batchId': {
        const body = jsonText(
          obj({ batchId: `fz-${text}-${fresh('b')}`, records: [obj({ type: 'stock_line', id: fresh('fz-name'), storeId: 'B', data: obj({ q: 1 }) })] }),
        );
        request = { method: 'POST', path: '/sync/v1/push', headers: [...SITE, ...JSON_TYPE], body: Buffer.from(body) };
        judge = judgePush(central, request);
        break;
      }
      case 'site name':
      case 'site code':
      case 'site password': {
        const fields: Record<string, J> = { name: fresh('Fuzz name'), password: 'a password', code: fresh('FZN') };
        fields[place === 'site name' ? 'name' : place === 'site code' ? 'code' : 'password'] = `${text}${fresh('')}`;
        request = { method: 'POST', path: '/admin/v1/sites', headers: [...ADMIN, ...JSON_TYPE], body: Buffer.from(jsonText(obj(fields))) };
        judge = okAnswer(201, adminSiteResponseSchema, ['topology_rule_violated', 'validation_failed']);
        break;
      }
      case 'store name':
      case 'store code':
      case 'store id': {
        const fields: Record<string, J> = { code: fresh('FZC'), name: 'Fuzz store', activeSiteId: 1 };
        fields[place === 'store name' ? 'name' : place === 'store code' ? 'code' : 'id'] = `${text}${fresh('')}`;
        request = { method: 'POST', path: '/admin/v1/stores', headers: [...ADMIN, ...JSON_TYPE], body: Buffer.from(jsonText(obj(fields))) };
        judge = okAnswer(201, adminStoreResponseSchema, ['topology_rule_violated', 'validation_failed']);
        break;
      }
      case 'copy store path':
        request = {
          method: 'PUT',
          path: `/admin/v1/stores/${encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '\ufffd'))}/copies/2`,
          headers: [...ADMIN, ...JSON_TYPE],
          body: Buffer.from('{"type":"collector"}'),
        };
        judge = (res, changed) => expectError(res, changed, ['not_found', 'validation_failed']);
        break;
      case 'basic auth name':
      case 'basic auth password': {
        const credentials = place === 'basic auth name' ? `Remote site 1${text}:${HEX1}` : `Remote site 2:${text}`;
        request = { method: 'GET', path: '/sync/v1/site', headers: [...SITE_UNAUTHENTICATED, ['authorization', `Basic ${b64(credentials)}`]] };
        judge = (res, changed) => expectError(res, changed, ['site_auth_failed', 'site_blocked', 'auth_required', 'rate_limited']);
        break;
      }
      default: {
        // a header can only carry bytes: the UTF-8 of the text (a lone surrogate becomes U+FFFD)
        request = {
          method: 'GET',
          path: '/sync/v1/site',
          headers: [...SITE.filter(([n]) => n !== HEADERS.appVersion), [HEADERS.appVersion, Buffer.from(text.replaceAll('\u0000', ''), 'utf8')]],
        };
        judge = (res, changed) => (res.status === 200 ? expectAnswer(res, changed, 200, siteInfoResponseSchema) : expectError(res, changed));
      }
    }
    await check(
      central,
      test,
      {
        kind: `${place} holding ${text.includes('\u0000') ? '\\u0000' : 'a surrogate'}`,
        request,
        show: `${showRequest(request).slice(0, 200)} (${place} ${shown})`,
      },
      judge,
    );
  };
  for (const c of each) await run(c);
  await fuzz(fc.record({ where, text: odd }), numRuns, run);
}

// ---- sizes -------------------------------------------------------------------------------------------

async function fuzzBodyLimit(small: FuzzCentral, normal: FuzzCentral, test: string): Promise<void> {
  const limit = small.bodyLimitBytes;
  const pushOf = (size: number): Buffer => {
    const head = `{"batchId":"${fresh('fz-big')}","records":[{"type":"stock_line","id":"${fresh('fz-big')}","storeId":"B","data":{"s":"`;
    const tail = '"}}]}';
    return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
  };
  const routes = [
    { path: '/sync/v1/push', auth: SITE, method: 'POST' },
    { path: '/sync/v1/pull', auth: SITE, method: 'POST' },
    { path: '/admin/v1/records', auth: ADMIN, method: 'POST' },
    { path: '/admin/v1/sites', auth: ADMIN, method: 'POST' },
    { path: '/sync/v1/push', auth: SITE_UNAUTHENTICATED, method: 'POST' },
  ];
  const sizes = fc.oneof(fc.constantFrom(limit - 1, limit, limit + 1, limit * 4, limit * 64), fc.integer({ min: limit - 64, max: limit + 64 }));
  const encodings = fc.constantFrom('identity', 'gzip', 'deflate', 'br');
  await fuzz(fc.record({ route: fc.constantFrom(...routes), size: sizes, encoding: encodings }), 60, async ({ route, size, encoding }) => {
    const plain = pushOf(size);
    const bytes = encoding === 'gzip' ? gzipSync(plain) : encoding === 'deflate' ? deflateSync(plain) : encoding === 'br' ? brotliCompressSync(plain) : plain;
    const headers: [string, string][] = [['content-type', 'application/json']];
    if (encoding !== 'identity') headers.push(['content-encoding', encoding]);
    const request: RawRequest = { method: route.method, path: route.path, headers: [...route.auth, ...headers], body: bytes };
    const over = plain.length > limit;
    const kind = `${route.path}${route.auth === SITE_UNAUTHENTICATED ? ' (unauthenticated)' : ''}: ${over ? 'over' : 'within'} the limit, ${encoding}`;
    const show = `${route.method} ${route.path} ${encoding} body of ${plain.length} bytes decompressed (${bytes.length} sent), limit ${limit}`;
    await check(small, test, { kind, request, show }, (res, changed) => {
      if (route.auth === SITE_UNAUTHENTICATED) return unauthenticated(res, changed);
      if (over) return expectError(res, changed, ['payload_too_large']);
      if (route.path === '/sync/v1/push') return judgePush(small, request)(res, changed);
      if (route.path === '/admin/v1/records') return judgeAdminRecords(small, request)(res, changed);
      return expectError(res, changed, ['validation_failed']);
    });
  });
  // Declared lengths that do not match the body: the answer must come without waiting for bytes that never arrive.
  const declared: { kind: string; length: string; body: string; auth: Headers; path: string }[] = [
    { kind: 'Content-Length of 10^12 with a short body', length: '1000000000000', body: '{"a":1}', auth: SITE, path: '/sync/v1/push' },
    { kind: 'Content-Length over the limit with a short body', length: String(limit + 1), body: '{"a":1}', auth: SITE, path: '/sync/v1/pull' },
    { kind: 'Content-Length of 10^12 with a short body (admin)', length: '1000000000000', body: '{"a":1}', auth: ADMIN, path: '/admin/v1/records' },
    {
      kind: 'Content-Length of 10^12 with a short body (unauthenticated)',
      length: '1000000000000',
      body: '{"a":1}',
      auth: SITE_UNAUTHENTICATED,
      path: '/sync/v1/push',
    },
  ];
  await Promise.all(
    declared.map(async (d) => {
      findings.count(test);
      const request: RawRequest = { method: 'POST', path: d.path, headers: [...d.auth, ...JSON_TYPE, ['content-length', d.length]], body: Buffer.from(d.body) };
      const res = await sendRaw(small.port, request, 2_000);
      const problems =
        res.status === 0
          ? [{ what: 'no answer within 2 s (the central waits for the rest of a body it has already refused)' }]
          : expectError(res, [], d.auth === SITE_UNAUTHENTICATED ? ['auth_required'] : ['payload_too_large']);
      for (const p of problems)
        findings.add(test, d.kind, p, `POST ${d.path} content-length: ${d.length} body: ${d.body} (then the client waits)`, describeAnswer(res, small));
    }),
  );
  // The default limit (64 MB): a gzip bomb of 65 MB, and 5001 records.
  const bomb = gzipSync(
    Buffer.concat([
      Buffer.from(`{"batchId":"${fresh('fz-bomb')}","records":[{"type":"stock_line","id":"fz-bomb","storeId":"B","data":{"s":"`),
      Buffer.alloc(65 * 1024 * 1024, 'x'),
      Buffer.from('"}}]}'),
    ]),
  );
  await check(
    normal,
    test,
    {
      kind: 'a gzip bomb over the default limit',
      request: { method: 'POST', path: '/sync/v1/push', headers: [...SITE, ...JSON_TYPE, ['content-encoding', 'gzip']], body: bomb },
      show: `POST /sync/v1/push gzip of a 65 MB push (${bomb.length} bytes sent)`,
    },
    (res, changed) => expectError(res, changed, ['payload_too_large']),
  );
  for (const [path, auth, wrap] of [
    ['/sync/v1/push', SITE, (records: string) => `{"batchId":"${fresh('fz-5001')}","records":${records}}`],
    ['/admin/v1/records', ADMIN, (records: string) => `{"records":${records}}`],
  ] as const) {
    const records = `[${Array.from({ length: 5001 }, () => `{"type":"stock_line","id":"${fresh('fz-5001')}","storeId":"C","data":{}}`).join(',')}]`;
    const request: RawRequest = { method: 'POST', path, headers: [...auth, ...JSON_TYPE], body: Buffer.from(wrap(records)) };
    await check(normal, test, { kind: '5001 records in one request', request, show: `POST ${path} with 5001 records` }, (res, changed) =>
      expectError(res, changed, ['validation_failed']),
    );
  }
}

// ---- slow clients -----------------------------------------------------------------------------------------

function openStalled(port: number, bytes: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes, () => resolve(socket)));
    socket.on('error', reject);
  });
}

/** A request cut short: all of it but the last `keep` bytes (or only its first `head` bytes). */
function stalledRequest(request: RawRequest, cut: { readonly withhold?: number; readonly head?: number }): Buffer {
  const bytes = requestBytes(request);
  return cut.head !== undefined ? bytes.subarray(0, cut.head) : bytes.subarray(0, bytes.length - (cut.withhold ?? 1));
}

async function slowClients(central: FuzzCentral, test: string): Promise<void> {
  /** a push of a record the site may write (store B of Remote site 1, store D of Remote site 2) */
  const pushOf = (id: string, headers: Headers = SITE, storeId = 'B'): RawRequest => ({
    method: 'POST',
    path: '/sync/v1/push',
    headers: [...headers, ...JSON_TYPE],
    body: Buffer.from(jsonText(obj({ batchId: fresh('fz-slow'), records: [obj({ type: 'stock_line', id, storeId, data: obj({ q: 1 }) })] }))),
  });
  const storedIds: string[] = [];
  const stalledIds = (prefix: string): string => {
    const id = fresh(prefix);
    storedIds.push(id);
    return id;
  };
  const REMOTE2_HEADERS: Headers = Object.entries(headersOf(REMOTE2));
  // Many connections stall: most before any credentials were read (partial headers, nothing at all,
  // unauthenticated bodies), some as Remote site 2 in the middle of their body (plain and gzip), an admin write.
  const stalled: { kind: string; bytes: Buffer }[] = [];
  for (let i = 0; i < 6; i += 1) {
    stalled.push({
      kind: 'a pull stalled in its headers',
      bytes: stalledRequest({ method: 'POST', path: '/sync/v1/pull', headers: [...SITE, ...JSON_TYPE], body: Buffer.from('{}') }, { head: 30 + i * 40 }),
    });
    stalled.push({ kind: 'a connection that sends nothing', bytes: Buffer.alloc(0) });
    stalled.push({
      kind: 'an unauthenticated push stalled in its body',
      bytes: stalledRequest(pushOf(fresh('fz-unauth'), SITE_UNAUTHENTICATED), { withhold: 20 }),
    });
    stalled.push({
      kind: 'an admin write stalled in its body',
      bytes: stalledRequest(
        {
          method: 'POST',
          path: '/admin/v1/records',
          headers: [...ADMIN, ...JSON_TYPE],
          body: Buffer.from(`{"records":[{"type":"item","id":"${stalledIds('fz-stalled-item')}","data":{}}]}`),
        },
        { withhold: 5 },
      ),
    });
  }
  stalled.push({
    kind: 'a push of Remote site 2 stalled in its body',
    bytes: stalledRequest(pushOf(stalledIds('fz-r2-stalled'), REMOTE2_HEADERS, 'D'), { withhold: 30 }),
  });
  const zipped = pushOf(stalledIds('fz-r2-stalled-gz'), REMOTE2_HEADERS, 'D');
  stalled.push({
    kind: 'a gzip push of Remote site 2 stalled in its body',
    bytes: stalledRequest(
      { ...zipped, headers: [...REMOTE2_HEADERS, ...JSON_TYPE, ['content-encoding', 'gzip']], body: gzipSync(zipped.body!) },
      { withhold: 10 },
    ),
  });
  // And Remote site 1, as a flaky network leaves it: two requests that never finish (a remote sends at most two at once).
  for (let i = 0; i < 2; i += 1)
    stalled.push({ kind: 'a push of Remote site 1 stalled in its body', bytes: stalledRequest(pushOf(stalledIds('fz-r1-stalled')), { withhold: 40 }) });

  const before = await feedHead(central);
  const sockets = await Promise.all(stalled.map((s) => openStalled(central.port, s.bytes)));
  const meanwhile: { kind: string; request: RawRequest; ok: (res: RawResponse) => boolean }[] = [
    { kind: 'GET /health', request: { method: 'GET', path: '/health' }, ok: (r) => r.status === 200 },
    { kind: 'GET /admin/v1/sites', request: { method: 'GET', path: '/admin/v1/sites', headers: ADMIN }, ok: (r) => r.status === 200 },
    {
      kind: 'a wrong password',
      request: { method: 'GET', path: '/sync/v1/site', headers: Object.entries(siteHeaders('No such site', 'x')) },
      ok: (r) => r.status === 401,
    },
    {
      kind: 'GET /sync/v1/status of Remote site 2 (its own push stalls)',
      request: { method: 'GET', path: '/sync/v1/status', headers: REMOTE2_HEADERS },
      ok: (r) => r.status === 200,
    },
  ];
  const ofRemote1: { kind: string; request: RawRequest }[] = [
    { kind: 'GET /sync/v1/site of Remote site 1 (two of its pushes stall)', request: { method: 'GET', path: '/sync/v1/site', headers: SITE } },
    {
      kind: 'POST /sync/v1/pull of Remote site 1 (two of its pushes stall)',
      request: { method: 'POST', path: '/sync/v1/pull', headers: [...SITE, ...JSON_TYPE], body: Buffer.from('{"cursor":"0","limit":5}') },
    },
    { kind: 'POST /sync/v1/push of Remote site 1 (two of its pushes stall)', request: pushOf(fresh('fz-meanwhile')) },
  ];
  const served = (kind: string, res: RawResponse, ok: boolean, stalling: string): void => {
    findings.count(test);
    if (!ok)
      findings.add(test, 'served while clients stall', { what: `${kind}: not answered as usual` }, `${kind}, while ${stalling}`, describeAnswer(res, central));
    else if (res.ms > 3_000)
      findings.add(test, 'served while clients stall', { what: `${kind}: took ${res.ms} ms` }, `${kind}, while ${stalling}`, describeAnswer(res, central));
  };
  const stalling = `${sockets.length} connections stall (${[...new Set(stalled.map((s) => s.kind))].join('; ')})`;
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let round = 0; round < 3; round += 1) {
      // everyone else at once; Remote site 1 one request at a time, as its remote does
      const others = Promise.all(meanwhile.map((m) => sendRaw(central.port, m.request, 5_000)));
      for (const m of ofRemote1) {
        const res = await sendRaw(central.port, m.request, 5_000);
        served(m.kind, res, res.status === 200, stalling);
      }
      (await others).forEach((res, i) => served(meanwhile[i]!.kind, res, meanwhile[i]!.ok(res), stalling));
    }
    // A site whose requests stall (4, the most a remote could have open after a few lost connections) is still served.
    const more = await Promise.all([0, 1].map(() => openStalled(central.port, stalledRequest(pushOf(stalledIds('fz-r1-stalled')), { withhold: 40 }))));
    sockets.push(...more);
    const res = await sendRaw(central.port, ofRemote1[0]!.request, 5_000);
    served('GET /sync/v1/site of Remote site 1 while 4 of its pushes stall', res, res.status === 200, 'they stall');
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Cut off, the stalled requests left nothing behind: no record, no request slot.
  findings.count(test, 3);
  const changed = (await changedSince(central, before)).filter((k) => storedIds.some((id) => k.endsWith(`:${id}`)));
  if (changed.length > 0)
    findings.add(
      test,
      'stalled then cut',
      { what: 'a request cut in the middle of its body was stored' },
      'requests cut in the middle of their body',
      changed.join(', '),
    );
  const after = await sendRaw(central.port, { method: 'GET', path: '/sync/v1/site', headers: SITE });
  if (after.status !== 200)
    findings.add(
      test,
      'stalled then cut',
      { what: 'Remote site 1 is not served after its stalled requests were cut' },
      'GET /sync/v1/site of Remote site 1 after its 4 stalled pushes were cut',
      describeAnswer(after, central),
    );
  const health = await sendRaw(central.port, { method: 'GET', path: '/health' });
  if (health.status !== 200)
    findings.add(test, 'stalled then cut', { what: 'the central is down afterwards' }, 'after the stalled connections were cut', describeAnswer(health));
}

// ---- what the HTTP parser refuses ---------------------------------------------------------------------------

async function httpLevel(central: FuzzCentral, test: string): Promise<void> {
  const valid = requestBytes({
    method: 'POST',
    path: '/sync/v1/pull',
    headers: [...SITE, ...JSON_TYPE],
    body: Buffer.from('{"cursor":"0","limit":5}'),
  }).toString('latin1');
  const [head, body] = valid.split('\r\n\r\n') as [string, string];
  const withHeader = (line: string): Buffer => Buffer.from(`${head}\r\n${line}\r\n\r\n${body}`, 'latin1');
  const validBytes = Buffer.from(valid, 'latin1');
  /** The bytes sent; for a variant of the valid pull, what differs from it. */
  const showRaw = (bytes: Buffer): string => {
    let same = 0;
    while (same < bytes.length && same < validBytes.length && bytes[same] === validBytes[same]) same += 1;
    if (same < 40) return `raw bytes: ${bytesPreview(bytes, 200)}`;
    return `a valid POST /sync/v1/pull as Remote site 1, its bytes from ${same} on replaced by: ${bytesPreview(bytes.subarray(same), 160)}`;
  };
  const raw: { kind: string; bytes: Buffer; ok?: boolean }[] = [
    { kind: 'a NUL in a header value', bytes: withHeader(`${HEADERS.appName}: a\u0000b`) },
    { kind: 'a DEL in a header value', bytes: withHeader(`${HEADERS.appName}: a\u007fb`) },
    { kind: 'a control character in a header value', bytes: withHeader(`${HEADERS.hardwareId}: a\u0001b`) },
    { kind: 'a space in a header name', bytes: withHeader('x bad: 1') },
    { kind: 'an empty header name', bytes: withHeader(': 1') },
    { kind: 'a header without a colon', bytes: withHeader('x-no-colon') },
    { kind: 'an obsolete folded header', bytes: withHeader('x-folded: a\r\n  b') },
    { kind: 'latin-1 bytes in a header value', bytes: withHeader(`${HEADERS.appName}: caf\u00e9\u00ff`), ok: true },
    { kind: 'a 20 kB header', bytes: withHeader(`x-big: ${'b'.repeat(20_000)}`) },
    { kind: 'a 20 kB URL', bytes: Buffer.from(`GET /sync/v1/status?cursor=${'1'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`) },
    { kind: 'Content-Length not a number', bytes: Buffer.from(`${head.replace(/content-length: \d+/, 'content-length: abc')}\r\n\r\n${body}`, 'latin1') },
    { kind: 'a negative Content-Length', bytes: Buffer.from(`${head.replace(/content-length: \d+/, 'content-length: -1')}\r\n\r\n${body}`, 'latin1') },
    { kind: 'two different Content-Lengths', bytes: withHeader('content-length: 3') },
    { kind: 'Content-Length and chunked', bytes: withHeader('transfer-encoding: chunked') },
    {
      kind: 'a bad chunk size',
      bytes: Buffer.from(`${head.replace(/\r\ncontent-length: \d+/, '')}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`, 'latin1'),
    },
    {
      kind: 'Transfer-Encoding gzip (not chunked)',
      bytes: Buffer.from(`${head.replace(/content-length: \d+/, 'transfer-encoding: gzip')}\r\n\r\n${body}`, 'latin1'),
    },
    { kind: 'an unknown method', bytes: Buffer.from('FROB /health HTTP/1.1\r\nhost: x\r\n\r\n') },
    { kind: 'a method in lower case', bytes: Buffer.from('get /health HTTP/1.1\r\nhost: x\r\n\r\n') },
    { kind: 'a request line of garbage', bytes: Buffer.from('GARBAGE\r\n\r\n') },
    { kind: 'HTTP/2.0 in the request line', bytes: Buffer.from('GET /health HTTP/2.0\r\nhost: x\r\n\r\n'), ok: true },
    { kind: 'HTTP/9.9 in the request line', bytes: Buffer.from('GET /health HTTP/9.9\r\nhost: x\r\n\r\n') },
    { kind: 'no Host header (HTTP/1.1)', bytes: Buffer.from('GET /health HTTP/1.1\r\nconnection: close\r\n\r\n') },
    { kind: 'no Host header (HTTP/1.0)', bytes: Buffer.from('GET /health HTTP/1.0\r\n\r\n'), ok: true },
    { kind: 'bare LF line ends', bytes: Buffer.from('GET /health HTTP/1.1\nhost: x\nconnection: close\n\n') },
    { kind: 'a space in the URL', bytes: Buffer.from('GET /sync/v1/status?cursor=1 2 HTTP/1.1\r\nhost: x\r\n\r\n') },
    {
      kind: 'a raw 0xFF byte in the URL',
      bytes: Buffer.concat([Buffer.from('GET /sync/v1/status?cursor='), Buffer.from([0xff]), Buffer.from(' HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')]),
    },
    { kind: 'an absolute URL', bytes: Buffer.from('GET http://127.0.0.1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'), ok: true },
    { kind: 'an unknown Expect', bytes: withHeader('expect: something-else') },
    { kind: 'Expect: 100-continue', bytes: withHeader('expect: 100-continue'), ok: true },
    { kind: 'an Upgrade request', bytes: Buffer.from('GET /health HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n'), ok: true },
    { kind: 'a body on GET /health', bytes: Buffer.from('GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello'), ok: true },
  ];
  for (const r of raw) {
    findings.count(test);
    const before = await feedHead(central);
    const res = await sendRaw(central.port, { method: '', path: '', raw: r.bytes }, 5_000);
    const changed = await changedSince(central, before);
    const problems: Problem[] = r.ok
      ? (res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500 && errorShapeOk(res))
        ? []
        : [{ what: `answered ${describeAnswer(res)}` }]
      : expectError(res, changed);
    const health = await sendRaw(central.port, { method: 'GET', path: '/health' });
    if (health.status !== 200) problems.push({ what: 'the central is down afterwards' });
    for (const p of problems) findings.add(test, r.kind, p, showRaw(r.bytes), describeAnswer(res, central));
  }
}

function errorShapeOk(res: RawResponse): boolean {
  return expectError(res, []).length === 0;
}
