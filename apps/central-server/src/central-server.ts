import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { buildTopology, orThrow, runSiteProcessors, TOKENS, type Clock, type PasswordHasher, type SiteId } from '@sitesync/domain';
import { createCentralApp, ScryptPasswordHasher } from '@sitesync/http';
import { openPostgresSyncStorage, pglitePool, type PostgresSyncStorage } from '@sitesync/postgres';
import { Container } from 'inversify';
import { Pool } from 'pg';
import type { Logger } from 'pino';

export const CENTRAL_TOKENS = Object.freeze({
  Storage: Symbol.for('sitesync.central.Storage'),
  Logger: Symbol.for('sitesync.central.Logger'),
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

/**
 * Runs `work` once at a time: a call made while it runs waits for one more run that starts after
 * it (all calls made meanwhile share that run), so each caller knows the work covered what it did
 * before calling, and concurrent pushes do not repeat the same processing side by side.
 */
function coalesced(work: (siteId: SiteId) => Promise<void>): (siteId: SiteId) => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  let nextSite: SiteId = 0;
  return (siteId) => {
    if (!running && !next) {
      running = work(siteId).finally(() => (running = null));
      return running;
    }
    nextSite = siteId;
    next ??= (running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        next = null;
        running = work(nextSite).finally(() => (running = null));
        return running;
      });
    return next;
  };
}

/** Opens the storage: the Postgres server when a URL is given, else embedded PGlite. */
async function openStorage(options: CentralServerOptions): Promise<{ storage: PostgresSyncStorage; describe: string }> {
  if (options.databaseUrl) {
    const pool = new Pool({ connectionString: options.databaseUrl, max: 10 });
    return { storage: await openPostgresSyncStorage(pool), describe: 'Postgres server' };
  }
  const dataDir = options.dataDir ?? 'sitesync-central-data';
  if (dataDir !== ':memory:') mkdirSync(dataDir, { recursive: true });
  const pglite = dataDir === ':memory:' ? new PGlite() : new PGlite(join(dataDir, 'pgdata'));
  return { storage: await openPostgresSyncStorage(pglitePool(pglite, { closeOnEnd: true })), describe: `embedded PGlite (${dataDir})` };
}

/** The admin token: given, or kept in the data directory (created once, readable by the owner only). */
function adminTokenFor(options: CentralServerOptions): string {
  if (options.adminToken) return options.adminToken;
  const dataDir = options.dataDir ?? 'sitesync-central-data';
  if (dataDir === ':memory:') return randomBytes(24).toString('hex');
  // Kept in the data directory even when the database is a Postgres server, so that the admin
  // commands run there find it.
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * The central's composition root: storage (migrations applied), its own site on first start, the
 * sync and admin HTTP API, and transfer processing after every push. `close()` stops accepting
 * requests, lets those in flight finish, and closes the database.
 */
export async function startCentralServer(options: CentralServerOptions): Promise<RunningCentral> {
  const { logger } = options;
  const { storage, describe } = await openStorage(options);
  const adminToken = adminTokenFor(options);
  const clock = options.clock ?? { now: () => new Date() };

  if (!(await storage.storage.topology.load())) {
    const name = options.siteName ?? 'central';
    await storage.storage.topology.save(orThrow(buildTopology({ sites: [{ id: 1, code: 'CENTRAL', name, roles: ['central', 'primary'] }], stores: [] })));
    logger.info({ siteId: 1, name }, 'created the central site (central + primary)');
  }

  const container = new Container();
  container.bind<Logger>(CENTRAL_TOKENS.Logger).toConstantValue(logger);
  container.bind<PostgresSyncStorage>(CENTRAL_TOKENS.Storage).toConstantValue(storage);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<PasswordHasher>(TOKENS.PasswordHasher).toConstantValue(options.hasher ?? new ScryptPasswordHasher());

  const afterPush = coalesced(async (siteId: SiteId): Promise<void> => {
    const topology = await storage.storage.topology.load();
    if (!topology) return;
    const report = await runSiteProcessors({ unitOfWork: storage, clock }, topology, topology.central.id);
    const { created, refused } = report.transfers;
    if (created.length + refused.length + report.receipts.length > 0) {
      logger.info({ fromSite: siteId, created: created.length, refused: refused.length, receipts: report.receipts.length }, 'transfers processed');
    }
  });

  const app = createCentralApp({
    storage,
    hasher: container.get<PasswordHasher>(TOKENS.PasswordHasher),
    clock,
    adminToken,
    logger,
    afterPush,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  // Longer than clients keep idle connections, so that the server is not the one closing a
  // connection a client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
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
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await storage.destroy();
        logger.info('sitesync central stopped');
      })();
      return closing;
    },
  };
}
