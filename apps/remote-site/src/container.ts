import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { TOKENS, type Clock, type IdGenerator } from '@sitesync/domain';
import { HttpCentralSyncGateway, SyncHttpError, type HttpExchange } from '@sitesync/http';
import { openSqliteSyncStorage, type SqliteSyncStorage } from '@sitesync/sqlite';
import Database from 'better-sqlite3';
import { Container } from 'inversify';
import { pino } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import type { DeviceIdentity } from './hardware-id';
import type { GatewayFactory } from './remote-config';
import { RemoteSite } from './remote-site';

export const REMOTE_TOKENS = Object.freeze({
  RemoteSite: Symbol.for('sitesync.remote.RemoteSite'),
  GatewayFactory: Symbol.for('sitesync.remote.GatewayFactory'),
  Storage: Symbol.for('sitesync.remote.Storage'),
});

export const APP_NAME = 'sitesync-remote';
export const APP_VERSION = '0.1.0';

export interface RemoteComposition {
  readonly container: Container;
  readonly site: RemoteSite;
  /** what was wrong with the data file's permissions and was tightened (for the CLI to print) */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/**
 * The data file holds the site's credentials and all its records: readable and writable by its
 * owner only. A file (or its -wal/-shm) open to others is tightened to 0600, with a warning.
 */
function ownerOnly(dataFile: string): string[] {
  const warnings: string[] = [];
  for (const path of [dataFile, `${dataFile}-wal`, `${dataFile}-shm`]) {
    if (!existsSync(path)) continue;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) === 0) continue;
    chmodSync(path, 0o600);
    warnings.push(`${path} was readable or writable by other users (mode ${mode.toString(8)}): it holds the site's credentials; its mode is now 600.`);
  }
  return warnings;
}

/** A fetch that trusts the certificates the CA in `caFile` (PEM) signed, besides the usual ones. */
export function fetchTrusting(caFile: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, readFileSync(caFile, 'utf8')] } });
  return ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

/** Where the remote logs each request it sends the central: pino's `debug` and `warn` are enough. */
export interface RequestLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Logs one request to the central with its `x-request-id`, which the central logs too: debug when
 * it succeeded, warn when it failed (with the error code the central answered, or the network error).
 */
export function logExchange(log: RequestLog, exchange: HttpExchange): void {
  const { method, path, requestId, status, durationMs, error } = exchange;
  const line = { requestId, method, path, status, durationMs };
  if (!('error' in exchange)) {
    log.debug(line, `${method} ${path} ${status ?? ''} in ${durationMs} ms`);
    return;
  }
  const code = error instanceof SyncHttpError ? error.code : null;
  const message = error instanceof Error ? error.message : String(error);
  log.warn({ ...line, code }, `${method} ${path} failed (${status === null ? 'no answer' : `HTTP ${status}`}): ${message}`);
}

/**
 * The remote site's composition root: the SQLite file (WAL, synchronous NORMAL), its storage with
 * migrations applied, the HTTP gateway to the central, and the RemoteSite that uses them.
 */
export async function composeRemoteSite(
  dataFile: string,
  overrides: {
    gatewayFor?: GatewayFactory;
    clock?: Clock;
    /** where each request to the central is logged with its request id; default a pino logger on stderr at LOG_LEVEL (info) */
    requestLog?: RequestLog;
    /**
     * this device's hardware id, computed when a request needs it (the CLI gives `deviceIdentity`:
     * the machine id, or `--hardware-id` / `SITESYNC_HARDWARE_ID`); absent, the id given to init
     * and kept in the data file is sent
     */
    device?: () => DeviceIdentity;
  } = {},
): Promise<RemoteComposition> {
  const warnings = dataFile === ':memory:' ? [] : ownerOnly(dataFile);
  const database = new Database(dataFile);
  if (dataFile !== ':memory:') chmodSync(dataFile, 0o600); // a new file: SQLite gives its -wal and -shm the same mode
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const storage = await openSqliteSyncStorage(database);

  let requestLog = overrides.requestLog;
  const log = (): RequestLog => (requestLog ??= pino({ name: 'sitesync-remote', level: process.env['LOG_LEVEL'] ?? 'info' }, pino.destination(2)));
  const container = new Container();
  container.bind<Clock>(TOKENS.Clock).toConstantValue(overrides.clock ?? { now: () => new Date() });
  container.bind<IdGenerator>(TOKENS.IdGenerator).toConstantValue({ next: () => randomUUID() });
  container.bind<SqliteSyncStorage>(REMOTE_TOKENS.Storage).toConstantValue(storage);
  container.bind<GatewayFactory>(REMOTE_TOKENS.GatewayFactory).toConstantValue(
    overrides.gatewayFor ??
      ((config) =>
        new HttpCentralSyncGateway({
          baseUrl: config.centralUrl,
          siteName: config.siteName,
          passwordSha256: config.passwordSha256,
          hardwareId: config.hardwareId,
          appName: APP_NAME,
          appVersion: APP_VERSION,
          ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
          ...(config.caFile ? { fetch: fetchTrusting(config.caFile) } : {}),
          onExchange: (exchange) => logExchange(log(), exchange),
        })),
  );
  container
    .bind<RemoteSite>(REMOTE_TOKENS.RemoteSite)
    .toResolvedValue(
      (s: SqliteSyncStorage, g: GatewayFactory, c: Clock, ids: IdGenerator) => new RemoteSite(s, g, c, ids, dataFile, overrides.device),
      [REMOTE_TOKENS.Storage, REMOTE_TOKENS.GatewayFactory, TOKENS.Clock, TOKENS.IdGenerator],
    );

  return {
    container,
    site: container.get<RemoteSite>(REMOTE_TOKENS.RemoteSite),
    warnings,
    async close() {
      await storage.destroy();
      database.close();
    },
  };
}
