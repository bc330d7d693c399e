import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { buildTopology, CentralService, orThrow, processorSummary, TOKENS, type Clock, type PasswordHasher } from '@sitesync/domain';
import { CentralMetrics, createCentralApp, hardenServer, ScryptPasswordHasher, SyncHttpError, TopologyCache } from '@sitesync/http';
import { openPostgresSyncStorage, pglitePool, type PostgresSyncStorage } from '@sitesync/postgres';
import { Container } from 'inversify';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';

export const CENTRAL_TOKENS = Object.freeze({
  Storage: Symbol.for('sitesync.central.Storage'),
  Logger: Symbol.for('sitesync.central.Logger'),
  Central: Symbol.for('sitesync.central.CentralService'),
});

export interface CentralServerOptions {
  readonly port?: number;
  readonly host?: string;
  /** a Postgres server; without it, embedded PGlite in `dataDir` */
  readonly databaseUrl?: string;
  /** PGlite's data directory; ':memory:' keeps nothing */
  readonly dataDir?: string;
  readonly adminToken?: string;
  /** name of the central's own site, created on first start */
  readonly siteName?: string;
  /** behind a reverse proxy: Express's `trust proxy` (hops), so logs and login limits see the client */
  readonly trustProxy?: number;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly hasher?: PasswordHasher;
}

export interface RunningCentral {
  readonly url: string;
  readonly adminToken: string;
  readonly storage: PostgresSyncStorage;
  readonly container: Container;
  close(): Promise<void>;
}

/** Postgres SQLSTATEs of a server that is gone, restarting or not accepting connections (class 08: connection exceptions). */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket errors of a connection that could not be made or died. */
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** pg's own messages for a connection that ended, timed out or cannot be used any more. */
const UNAVAILABLE_MESSAGES =
  /connection terminated|not queryable|timeout exceeded when trying to connect|connection ended|cannot use a pool after calling end/i;

/** Whether `error` (or its cause) says the database could not be reached, rather than that a statement failed. */
function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  }
  return false;
}

/** The message of an error, or its code (Node's AggregateError of a refused connection has an empty message). */
function describeError(error: unknown): string {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : String(error);
}

/** A 503 for the client: the request did nothing that it would not do again (pushes are idempotent), so it is retried. */
function unavailable(error: unknown): SyncHttpError {
  const reason = describeError(error);
  const answer = SyncHttpError.of(
    'database_unavailable',
    `The central cannot reach its database right now (${reason}). Nothing is lost: send the request again in a moment ` +
      '(a remote site retries at its next sync cycle; `sitesync-remote run` retries by itself). If this lasts, check that the Postgres server is running and reachable from the central.',
    { retryable: true },
  );
  Object.defineProperty(answer, 'cause', { value: error });
  return answer;
}

/**
 * The pool as Kysely sees it, with every failure of an unreachable database (a failed connect, a
 * query on a connection that died) turned into a 503 answer once the central serves requests.
 * pg's Pool makes new connections when it needs them, so once the server is back the next request
 * works again.
 */
function unavailabilityAware(pool: Pool, logger: Logger): { readonly pool: PostgresPool; serving(): void } {
  let serving = false;
  const translate = (error: unknown): never => {
    if (!serving || !isDatabaseUnavailable(error)) throw error;
    logger.warn({ err: error }, 'the database is unreachable: the request is answered 503 (retry)');
    throw unavailable(error);
  };
  return {
    pool: {
      async connect(): Promise<PostgresPoolClient> {
        const client: PoolClient = await pool.connect().catch(translate);
        // Kysely calls query(sql, parameters) only (the cursor overload is for streaming, unused here).
        const query = (text: string, parameters: ReadonlyArray<unknown>) => client.query(text, [...parameters]).catch(translate);
        return { query: query as unknown as PostgresPoolClient['query'], release: () => client.release() };
      },
      end: () => pool.end(),
    },
    serving: () => (serving = true),
  };
}

/**
 * The Postgres pool. A connection that dies (the server restarted, the network dropped) emits
 * 'error' on its client, and on the pool when the client was idle: without listeners, Node ends the
 * process on such an event. They are logged instead, and the pool replaces the connection on the
 * next request.
 */
function postgresPool(databaseUrl: string, logger: Logger): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 10,
    // a server that does not answer is an error after this long, not a request that hangs
    connectionTimeoutMillis: 10_000,
    // and a connection whose peer vanished without closing it is noticed
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'an idle database connection failed; the pool replaces it'));
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (!isDatabaseUnavailable(error)) logger.warn({ err: error }, 'a database connection failed');
    });
  });
  return pool;
}

function withoutPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(the URL given)';
  }
}

/** Opens the storage: the Postgres server when a URL is given, else embedded PGlite. */
async function openStorage(options: CentralServerOptions): Promise<{ storage: PostgresSyncStorage; describe: string }> {
  if (options.databaseUrl) {
    const pool = postgresPool(options.databaseUrl, options.logger);
    const guarded = unavailabilityAware(pool, options.logger);
    try {
      const storage = await openPostgresSyncStorage(guarded.pool);
      guarded.serving();
      return { storage, describe: 'Postgres server' };
    } catch (error) {
      if (!pool.ended) await pool.end().catch(() => undefined);
      if (!isDatabaseUnavailable(error)) throw error;
      throw new Error(
        `Cannot connect to the Postgres server at ${withoutPassword(options.databaseUrl)} (${describeError(error)}): ` +
          'check --database-url (or DATABASE_URL), and that the server is running and accepts connections from this host.',
        { cause: error },
      );
    }
  }
  const dataDir = options.dataDir ?? 'sitesync-central-data';
  if (dataDir !== ':memory:') ownerOnlyDirectory(dataDir, options.logger);
  const pglite = dataDir === ':memory:' ? new PGlite() : new PGlite(join(dataDir, 'pgdata'));
  return { storage: await openPostgresSyncStorage(pglitePool(pglite, { closeOnEnd: true })), describe: `embedded PGlite (${dataDir})` };
}

/**
 * The data directory holds the database (password hashes, every record) and the admin token: it is
 * made 0700, and one open to other users is tightened to 0700 with a warning.
 */
function ownerOnlyDirectory(dir: string, logger: Logger): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  chmodSync(dir, 0o700);
  logger.warn({ dir, mode: mode.toString(8) }, 'the data directory was open to other users: its mode is now 700');
}

/** The admin token: given, or kept in the data directory (created once, readable by the owner only). */
function adminTokenFor(options: CentralServerOptions): string {
  if (options.adminToken) return options.adminToken;
  const dataDir = options.dataDir ?? 'sitesync-central-data';
  if (dataDir === ':memory:') return randomBytes(24).toString('hex');
  // Kept in the data directory even when the database is a Postgres server, so that the admin
  // commands run there find it.
  ownerOnlyDirectory(dataDir, options.logger);
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      options.logger.warn({ file }, 'the admin token file was readable by other users: its mode is now 600');
    }
    return readFileSync(file, 'utf8').trim();
  }
  const token = randomBytes(24).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * The central's composition root: storage (migrations applied), its own site on first start, the
 * sync and admin HTTP API, and the central service (transfer processing after every write). `close()` stops accepting
 * requests, lets those in flight finish, and closes the database.
 */
export async function startCentralServer(options: CentralServerOptions): Promise<RunningCentral> {
  const { logger } = options;
  const { storage, describe } = await openStorage(options);
  const adminToken = adminTokenFor(options);
  const clock = options.clock ?? { now: () => new Date() };

  // under the topology lock: central processes started together on one new database create it once
  const name = options.siteName ?? 'central';
  const created = await storage.run(async (s) => {
    await s.topology.lock();
    if (await s.topology.load()) return false;
    await s.topology.save(orThrow(buildTopology({ sites: [{ id: 1, code: 'CENTRAL', name, roles: ['central', 'primary'] }], stores: [] })));
    return true;
  });
  if (created) logger.info({ siteId: 1, name }, 'created the central site (central + primary)');

  const container = new Container();
  container.bind<Logger>(CENTRAL_TOKENS.Logger).toConstantValue(logger);
  container.bind<PostgresSyncStorage>(CENTRAL_TOKENS.Storage).toConstantValue(storage);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<PasswordHasher>(TOKENS.PasswordHasher).toConstantValue(options.hasher ?? new ScryptPasswordHasher());

  // GET /metrics (docs/metrics-and-logs.md): the processor lag and failures come from the service's callbacks.
  const metrics = new CentralMetrics({ processMetrics: true });

  // Every write on the central goes through this service, which runs the transfer processors after
  // it; processing that fails (the database went away after the write was stored) is tried again,
  // with backoff, until it succeeds: those transfers do not wait for the next write.
  const central = new CentralService({
    unitOfWork: storage,
    clock,
    topologies: new TopologyCache(storage, clock),
    scheduler: {
      schedule(run, ms) {
        const timer = setTimeout(run, ms);
        timer.unref();
        return { cancel: () => clearTimeout(timer) };
      },
    },
    onProcessed(report, reason, lagMs) {
      metrics.processed(reason, lagMs);
      const summary = processorSummary(report);
      if (summary) logger.info({ reason, ...summary }, 'transfers processed');
    },
    onProcessingFailed(error, retryInMs) {
      metrics.processingFailed();
      logger.warn({ err: error, retryInMs }, retryInMs === null ? 'transfer processing failed' : 'transfer processing failed; it is tried again');
    },
  });
  container.bind<CentralService>(CENTRAL_TOKENS.Central).toConstantValue(central);

  // A central killed after a push committed but before its processing ran (the push is answered
  // only after it) would otherwise complete those transfers only at the next push of a new batch:
  // the resent batch is a replay, which processes nothing. The processors resume from their own
  // cursors, so this does only what was left undone.
  await central.process('start').catch(() => undefined); // logged (warn) by onProcessingFailed, and retried

  const app = createCentralApp({
    storage,
    hasher: container.get<PasswordHasher>(TOKENS.PasswordHasher),
    clock,
    adminToken,
    logger,
    central,
    metrics,
    // one line per request with its x-request-id (docs/metrics-and-logs.md)
    requestLogger: logger,
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
  });
  // Without Host, Node itself would answer an empty 400: Express answers it with the JSON error body instead.
  const server: Server = createServer({ requireHostHeader: false }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  // Longer than clients keep idle connections, so that the server is not the one closing a
  // connection a client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // request timeout, connection cap, JSON answers for what the HTTP parser refuses
  hardenServer(server);
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  logger.info({ url, storage: describe }, 'sitesync central listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    adminToken,
    storage,
    container,
    close() {
      closing ??= (async () => {
        central.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await storage.destroy();
        logger.info('sitesync central stopped');
      })();
      return closing;
    },
  };
}
