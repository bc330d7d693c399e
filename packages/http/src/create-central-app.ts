import { processorSummary, CentralService, type Clock, type PasswordHasher, type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import express from 'express';
import type { Logger } from 'pino';
import { adminAuthentication } from './admin-authentication';
import { adminExplainRoutes } from './admin-explain-routes';
import { adminIssueRoutes } from './admin-issue-routes';
import { adminPage } from './admin-page';
import { adminRoutes } from './admin-routes';
import { adminTokenRoutes } from './admin-token-routes';
import { AdminTokens } from './admin-tokens';
import { errorHandler, notFound } from './error-handler';
import { baseApp } from './express-base';
import { LoginThrottle, type LoginLimits } from './login-throttle';
import { CentralMetrics, type WaitingBySite } from './metrics';
import { openApiDocument } from './openapi';
import { requestBodyReader } from './request-body';
import { SyncHttpError } from './error-codes';
import { siteAuthenticator } from './site-authentication';
import { syncRoutes } from './sync-routes';
import { TopologyCache } from './topology-cache';
import { waitingBySiteOf, waitingCountsFor } from './waiting-by-site';

export { CentralMetrics, type CentralMetricsOptions, type WaitingBySite } from './metrics';

export interface CentralAppLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CentralAppDeps {
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly adminToken: string;
  readonly apiVersions?: { readonly min: number; readonly max: number }; // default 1..1
  readonly bodyLimit?: string; // default '16mb' (decompressed size)
  readonly logger?: CentralAppLogger;
  /**
   * Express's `trust proxy` (default false): set it when the central runs behind a reverse proxy,
   * so that logs and the per-source login limits see the client's address, not the proxy's.
   */
  readonly trustProxy?: boolean | number | string;
  /** requests one site may have in progress at once (default 4: a remote sends at most 2) */
  readonly maxConcurrentPerSite?: number;
  /** failed-login limits per source and per site name (DEFAULT_LOGIN_LIMITS) */
  readonly loginLimits?: LoginLimits;
  /**
   * The central application service every write goes through (pushes, admin records, topology
   * changes), built over the same `storage` and `clock`; its `topologies` is the app's topology
   * cache. Without it the app builds one (a `TopologyCache`, no automatic retry of failed processing,
   * the outcome logged).
   */
  readonly central?: CentralService;
  /**
   * The Prometheus metrics `GET /metrics` answers (docs/metrics-and-logs.md); give one when `central`
   * is given, and feed it that service's `onProcessed`/`onProcessingFailed` (`processed`,
   * `processingFailed`). Without it the app makes its own.
   */
  readonly metrics?: CentralMetrics;
  /** Records waiting per site for the `sitesync_records_waiting` gauge, read at each scrape; default `waitingFor` over the topology. */
  readonly waitingBySite?: WaitingBySite;
  /** One log line per request, with its request id (pino-http); without it requests are not logged (their id is still answered). */
  readonly requestLogger?: Logger;
}

export const DEFAULT_BODY_LIMIT = '16mb';
export const DEFAULT_MAX_CONCURRENT_PER_SITE = 4;

/** Errors and warnings as JSON lines on stderr; info is dropped. Bind a real logger (pino) in apps. */
const stderrLogger: CentralAppLogger = {
  info: () => undefined,
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...plain(obj) })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...plain(obj) })}\n`),
};

function plain(obj: object): object {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? { ...obj, err: { name: err.name, message: err.message, stack: err.stack } } : obj;
}

/**
 * The central's HTTP API: the sync routes remote sites call (`/sync/v1`, Basic auth with the site
 * name and the SHA-256 hex of its password) and the admin routes (`/admin/v1`, a bearer token with
 * a role). Every error answer is `{"error":{"code","message","data"}}` with a code of SYNC_ERROR_CODES.
 * This function only composes: each route file is the list of what its caller may do.
 */
export function createCentralApp(deps: CentralAppDeps): express.Express {
  if (deps.adminToken.length === 0) throw new Error('createCentralApp: adminToken is empty; configure a long random admin token');
  const { storage, hasher, clock } = deps;
  const logger = deps.logger ?? stderrLogger;
  const body = requestBodyReader(deps.bodyLimit ?? DEFAULT_BODY_LIMIT);
  const metrics = deps.metrics ?? new CentralMetrics();
  waitingCountsFor(storage, clock); // the site list's waiting counts, kept in memory (WaitingCounts)

  const central =
    deps.central ??
    new CentralService({
      unitOfWork: storage,
      clock,
      topologies: new TopologyCache(storage, clock),
      onProcessed: (report, reason, lagMs) => {
        metrics.processed(reason, lagMs);
        const summary = processorSummary(report);
        if (summary) logger.info({ reason, ...summary }, 'transfers processed');
      },
      onProcessingFailed: (error) => {
        metrics.processingFailed();
        logger.error({ err: error }, 'processing after a write failed (the write itself was stored)');
      },
    });
  const topologies = central.topologies;

  const authenticateSite = siteAuthenticator({
    hasher,
    logger,
    apiVersions: deps.apiVersions ?? { min: 1, max: 1 },
    topologies,
    repository: storage.storage.topology,
    throttle: new LoginThrottle(deps.loginLimits),
  });
  const tokens = new AdminTokens(storage, clock, deps.adminToken);
  const adminAuth = adminAuthentication(tokens, logger);

  const app = baseApp({ trustProxy: deps.trustProxy, requestLogger: deps.requestLogger });
  // a label only: the topology this process last read will do (no database read per request)
  const labelTopology = async () => topologies.lastKnown() ?? (await topologies.load());
  app.use(metrics.observe({ siteIdByName: async (name) => (await labelTopology()).siteByName(name)?.id }));
  app.use((req, _res, next) => {
    // HTTP/1.1 requires Host (RFC 9112 3.2); answered here, with the error body, rather than by Node's bare 400.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      next(SyncHttpError.of('validation_failed', 'An HTTP/1.1 request needs a Host header.', [{ path: 'host', message: 'missing' }]));
      return;
    }
    next();
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/metrics', adminAuth.requireAdmin, metrics.serve(deps.waitingBySite ?? waitingBySiteOf(storage, topologies)));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  app.use(
    '/sync/v1',
    syncRoutes({
      storage,
      clock,
      logger,
      central,
      body,
      authenticateSite,
      maxConcurrentPerSite: deps.maxConcurrentPerSite ?? DEFAULT_MAX_CONCURRENT_PER_SITE,
    }),
  );

  const admin = express.Router();
  admin.use(adminAuth.requireAdmin);
  admin.use(adminTokenRoutes({ tokens, callerOf: adminAuth.callerOf, jsonBody: body.readJson, logger }));
  admin.use(adminIssueRoutes({ storage, central, clock, callerOf: adminAuth.callerOf, jsonBody: body.readJson, logger }));
  admin.use(adminRoutes({ storage, hasher, clock, logger, central, topologies, jsonBody: body.readJson }));
  admin.use(adminExplainRoutes({ storage, topologies }));
  app.use('/admin/v1', admin);
  app.use('/admin', adminPage());

  app.use(notFound);
  app.use(errorHandler(logger, body.limit));
  return app;
}
