import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { storeRecord } from '@sitesync/testkit';
import { pino } from 'pino';
import request from 'supertest';
import { HttpCentralSyncGateway, sha256Hex, SyncHttpError, type HttpExchange } from '../src/index';
import { ADMIN_TOKEN, adminHeaders, createTestCentral, passwordOf, REMOTE1, SITE_NAMES } from './central-test-setup';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly requestId?: string;
  readonly req?: { readonly id?: string; readonly method?: string; readonly url?: string };
  readonly res?: { readonly statusCode?: number };
}

/** A pino logger (debug and up) whose lines are kept, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines, raw };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WARN = 40;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

describe('request ids on the central', () => {
  it('answers the x-request-id a client sent and logs it on the request line, never the credentials', async () => {
    const { logger, lines, raw } = recordingLogger();
    const central = await createTestCentral({ requestLogger: logger });
    const res = await request(central.app).get('/admin/v1/sites').set(adminHeaders).set('x-request-id', 'abc-123');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('abc-123');

    const line = lines.find((l) => l.requestId === 'abc-123');
    expect(line).toMatchObject({ req: { id: 'abc-123', method: 'GET', url: '/admin/v1/sites' }, res: { statusCode: 200 } });
    expect(raw.join('')).not.toContain(ADMIN_TOKEN);
  });

  it('makes a UUID for a request without an id or with one that is not sane (spaces, over 128 characters), and logs a failure at warn', async () => {
    const { logger, lines } = recordingLogger();
    const central = await createTestCentral({ requestLogger: logger });
    for (const sent of [undefined, 'two words', 'x'.repeat(129), 'a\u00e9b']) {
      const req = request(central.app).get('/sync/v1/site');
      const res = sent === undefined ? await req : await req.set('x-request-id', sent);
      expect(res.status).toBe(401);
      const id = res.headers['x-request-id'] as string;
      expect(id).toMatch(UUID);
      expect(lines.find((l) => l.requestId === id)).toMatchObject({ level: WARN, res: { statusCode: 401 } });
    }
    const longest = 'a.b_c-'.repeat(21).slice(0, 128);
    expect((await request(central.app).get('/health').set('x-request-id', longest)).headers['x-request-id']).toBe(longest);
  });

  it('answers the id without a request logger too', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).get('/health').set('x-request-id', 'probe-1');
    expect(res.headers['x-request-id']).toBe('probe-1');
  });
});

describe("request ids from the remote's gateway", () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await close(server);
    server = undefined;
  });

  it('sends a new id with every request, reports it with how the request ended, and the central logs the same id', async () => {
    const { logger, lines } = recordingLogger();
    const central = await createTestCentral({ requestLogger: logger });
    server = createServer(central.app);
    const baseUrl = await listen(server);
    const exchanges: HttpExchange[] = [];
    const sent: string[] = [];
    const gateway = (password: string) =>
      new HttpCentralSyncGateway({
        baseUrl,
        siteName: SITE_NAMES[REMOTE1]!,
        passwordSha256: sha256Hex(password),
        hardwareId: 'hw-1',
        onExchange: (exchange) => exchanges.push(exchange),
        fetch: (input, init) => {
          sent.push(new Headers(init?.headers).get('x-request-id') ?? '(none)');
          return fetch(input, init);
        },
      });

    const remote = gateway(passwordOf(REMOTE1));
    await remote.siteInfo();
    await remote.push('batch-1', [storeRecord('stock_line', 'B', {}, 'sl-1')]);
    await remote.pull(0n, 100);
    await expect(gateway('wrong password').siteInfo()).rejects.toBeInstanceOf(SyncHttpError);
    await new Promise((resolve) => setImmediate(resolve)); // the server's last 'finish' handlers

    expect(sent).toHaveLength(4);
    expect(new Set(sent).size).toBe(4);
    for (const id of sent) expect(id).toMatch(UUID);
    expect(exchanges.map((e) => [e.requestId, e.method, e.path, e.status, 'error' in e])).toEqual([
      [sent[0], 'GET', '/sync/v1/site', 200, false],
      [sent[1], 'POST', '/sync/v1/push', 200, false],
      [sent[2], 'POST', '/sync/v1/pull', 200, false],
      [sent[3], 'GET', '/sync/v1/site', 401, true],
    ]);
    expect((exchanges[3]!.error as SyncHttpError).code).toBe('site_auth_failed');
    // one id finds the central's line of each request
    for (const exchange of exchanges) {
      expect(lines.filter((l) => l.requestId === exchange.requestId).map((l) => [l.req?.method, l.req?.url, l.res?.statusCode])).toEqual([
        [exchange.method, exchange.path, exchange.status],
      ]);
    }
  });

  it('reports a request that got no answer with a null status and the error', async () => {
    const exchanges: HttpExchange[] = [];
    const gateway = new HttpCentralSyncGateway({
      baseUrl: 'http://127.0.0.1:9',
      siteName: 'Remote site 1',
      passwordSha256: sha256Hex('x'),
      hardwareId: 'hw-1',
      onExchange: (exchange) => exchanges.push(exchange),
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(gateway.siteInfo()).rejects.toThrow('fetch failed');
    expect(exchanges).toEqual([expect.objectContaining({ method: 'GET', path: '/sync/v1/site', status: null, error: expect.any(TypeError) })]);
    expect(exchanges[0]!.requestId).toMatch(UUID);
  });
});
