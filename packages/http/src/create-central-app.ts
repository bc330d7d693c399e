import { isUtf8 } from 'node:buffer';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  processorSummary,
  CentralService,
  waitingFor,
  isPushConflict,
  quarantinePrefix,
  siteInfoFor,
  siteSyncedBefore,
  type Clock,
  type PasswordHasher,
  type SiteId,
  type SyncStorage,
  type UnitOfWork,
} from '@sitesync/domain';
import bytes from 'bytes';
import compression from 'compression';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { LoginThrottle, type LoginLimits } from './login-throttle';
import { siteAuthenticator, type SiteAuth } from './site-authentication';
import { TopologyCache } from './topology-cache';
import { adminRoutes } from './admin-routes';
import { ERROR_STATUS, SyncHttpError } from './error-codes';
import { parseBody, parseQuery, payloadTooLarge, toSyncHttpError, violationsOrValue } from './request-parsing';
import { pullRequestSchema, pushRequestSchema, statusQuerySchema } from './wire';

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
}

const DEFAULT_BODY_LIMIT = '16mb';
const DEFAULT_MAX_CONCURRENT_PER_SITE = 4;
/** Refused records listed in a site's status at most (the admin issues route pages through all of them). */
const STATUS_QUARANTINE_LIMIT = 200;

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
 * name and the SHA-256 hex of its password) and the admin routes (`/admin/v1`, a bearer token).
 * Every error answer is `{"error":{"code","message","data"}}` with a code of SYNC_ERROR_CODES.
 */
export function createCentralApp(deps: CentralAppDeps): express.Express {
  if (deps.adminToken.length === 0) throw new Error('createCentralApp: adminToken is empty; configure a long random admin token');
  const { storage, hasher, clock } = deps;
  const repository = storage.storage.topology;
  const logger = deps.logger ?? stderrLogger;
  const apiVersions = deps.apiVersions ?? { min: 1, max: 1 };
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const bodyLimitBytes = bytes.parse(bodyLimit);
  if (bodyLimitBytes === null) throw new Error(`createCentralApp: bodyLimit "${bodyLimit}" is not a size like "16mb"`);
  const adminTokenDigest = digest(deps.adminToken);
  const siteAuths = new WeakMap<Request, SiteAuth>();

  /** The SHA-256 of each request's body as received (decompressed): what identifies a push batch's content. */
  const bodyDigests = new WeakMap<Request, string>();
  const jsonBody = express.json({
    limit: bodyLimit,
    inflate: true,
    verify: (req, _res, buffer) => {
      if (!isUtf8(buffer)) throw Object.assign(new Error('the request body is not valid UTF-8'), { type: 'entity.not.utf8' });
      bodyDigests.set(req as Request, createHash('sha256').update(buffer).digest('base64'));
    },
  });

  const central =
    deps.central ??
    new CentralService({
      unitOfWork: storage,
      clock,
      topologies: new TopologyCache(storage, clock),
      onProcessed: (report, reason) => {
        const summary = processorSummary(report);
        if (summary) logger.info({ reason, ...summary }, 'transfers processed');
      },
      onProcessingFailed: (error) => logger.error({ err: error }, 'processing after a write failed (the write itself was stored)'),
    });
  const topologies = central.topologies;

  const authenticateSite = siteAuthenticator({ hasher, logger, apiVersions, topologies, repository, throttle: new LoginThrottle(deps.loginLimits) });

  /** Requests of each site being served now: a site gets at most `maxConcurrentPerSite` at once. */
  const inFlight = new Map<SiteId, number>();
  const maxConcurrentPerSite = deps.maxConcurrentPerSite ?? DEFAULT_MAX_CONCURRENT_PER_SITE;

  const requireSite: RequestHandler = async (req, _res, next) => {
    siteAuths.set(req, await authenticateSite(req));
    next();
  };

  /**
   * Counts the request towards its site's requests in progress; placed after the body is read, so
   * uploads that stall cannot hold a site's slots (the server's request timeout ends them).
   */
  const siteSlot: RequestHandler = (req, res, next) => {
    const siteId = siteAuthOf(req).site.id;
    const running = inFlight.get(siteId) ?? 0;
    if (running >= maxConcurrentPerSite) {
      throw SyncHttpError.of(
        'rate_limited',
        `Site ${siteId} already has ${running} requests in progress (at most ${maxConcurrentPerSite}): wait for them to finish.`,
        { retryAfterSeconds: 1 },
      );
    }
    inFlight.set(siteId, running + 1);
    res.once('close', () => {
      const left = (inFlight.get(siteId) ?? 1) - 1;
      if (left > 0) inFlight.set(siteId, left);
      else inFlight.delete(siteId);
    });
    next();
  };

  /** Reads a JSON body; a declared body over the limit is refused at once (and the connection closed), not read to its end first. */
  const readJson: RequestHandler = (req, res, next) => {
    const declared = Number(req.get('content-length') ?? '0');
    if (Number.isFinite(declared) && declared > bodyLimitBytes) {
      next(payloadTooLarge(bodyLimit));
      return;
    }
    jsonBody(req, res, next);
  };

  function siteAuthOf(req: Request): SiteAuth {
    const auth = siteAuths.get(req);
    if (!auth) throw new Error('sync route reached without site authentication');
    return auth;
  }

  // ---- admin authentication ------------------------------------------------------------------

  const requireAdmin: RequestHandler = (req, _res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), adminTokenDigest)) {
      logger.warn({ ip: req.ip, path: req.path }, 'admin request refused: wrong or missing admin token');
      throw SyncHttpError.of(
        'admin_auth_failed',
        'Wrong or missing admin token: send "Authorization: Bearer <admin token>" with the token the central was started with.',
      );
    }
    next();
  };

  // ---- the app -------------------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.set('etag', false);
  app.use(compression());
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

  const sync = express.Router();

  sync.get('/site', requireSite, siteSlot, async (req, res) => {
    const { site, topology } = siteAuthOf(req);
    res.json(siteInfoFor(topology, site.id, await siteSyncedBefore(storage.storage, topology, site.id)));
  });

  sync.post('/push', requireSite, readJson, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { batchId, records, more } = parseBody(pushRequestSchema, req.body);
    const batch = { id: batchId, digest: bodyDigests.get(req) ?? '', records };
    // stores the batch, then runs the central's processors (their failure does not fail the push: it is stored)
    const result = await central.push(
      site.id,
      batch,
      (stored) => {
        if (isPushConflict(stored)) return;
        logger.info(
          { siteId: site.id, batchId, received: records.length, accepted: stored.accepted, refused: stored.refused.length, replayed: stored.replayed === true },
          'push received',
        );
      },
      more === true ? { more } : {},
    );
    if (isPushConflict(result)) {
      logger.warn({ siteId: site.id, batchId }, `push refused: ${result.conflict.message}`);
      throw SyncHttpError.of('batch_conflict', `${result.conflict.message} ${result.conflict.fix}`, { batchId, code: result.conflict.code });
    }
    res.json(result);
  });

  sync.post('/pull', requireSite, readJson, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { cursor, limit, queueCursor, reinitialising, unpushed } = parseBody(pullRequestSchema, req.body);
    const request = {
      cursor: BigInt(cursor),
      limit,
      ...(queueCursor !== undefined ? { queueCursor: BigInt(queueCursor) } : {}),
      ...(reinitialising === true ? { reinitialising } : {}),
      ...(unpushed !== undefined ? { unpushed } : {}),
    };
    const result = await central.pull(site.id, request);
    if (result.remaining === 0) {
      const now = clock.now();
      await topologies.exclusive(async (current) => {
        if (!current.site(site.id)) return { next: null, value: undefined };
        const next = violationsOrValue(current.updateSite(site.id, { lastSyncedAt: now }));
        await repository.saveSite(next.site(site.id)!);
        return { next, value: undefined };
      });
    }
    res.json({
      records: result.records,
      nextCursor: result.nextCursor.toString(),
      remaining: result.remaining,
      ...(result.nextQueueCursor !== undefined ? { drops: result.drops ?? [], nextQueueCursor: result.nextQueueCursor.toString() } : {}),
    });
  });

  sync.get('/status', requireSite, siteSlot, async (req, res) => {
    const { site, topology } = siteAuthOf(req);
    const { cursor } = parseQuery(statusQuerySchema, req.query);
    const waiting = await storage.run((s) => waitingFor(s, topology, site.id, BigInt(cursor)));
    const quarantined = (await storage.storage.issues.open({ prefix: quarantinePrefix(site.id), limit: STATUS_QUARANTINE_LIMIT })).map((issue) => ({
      key: issue.key,
      code: issue.violation.code,
      message: issue.violation.message,
      fix: issue.violation.fix,
      occurrences: issue.occurrences,
      lastSeenAt: issue.lastSeenAt.toISOString(),
    }));
    res.json({ siteId: site.id, lastSyncedAt: site.lastSyncedAt?.toISOString() ?? null, waiting, quarantined });
  });

  app.use('/sync/v1', sync);

  app.use('/admin/v1', requireAdmin, adminRoutes({ storage, hasher, clock, logger, central, topologies, jsonBody: readJson }));

  app.use((req: Request) => {
    throw SyncHttpError.of('not_found', `There is no route ${req.method} ${req.path}. See docs/sync-api.md for the routes of the sync and admin API.`);
  });

  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = toSyncHttpError(error, bodyLimit);
    if (known) {
      if (known.code === 'not_initialised' && known.status === ERROR_STATUS.not_initialised) res.set('retry-after', '60');
      if (known.code === 'auth_required') res.set('www-authenticate', 'Basic realm="sitesync", charset="UTF-8"');
      if (known.code === 'database_unavailable') res.set('retry-after', '5');
      if (known.code === 'payload_too_large') res.set('connection', 'close'); // do not read the rest of a huge body
      if (known.code === 'rate_limited') res.set('retry-after', String((known.data as { retryAfterSeconds: number }).retryAfterSeconds));
      res.status(known.status).json({ error: { code: known.code, message: known.message, data: known.data ?? null } });
      return;
    }
    const correlationId = randomUUID();
    logger.error({ err: error, correlationId, method: req.method, path: req.path }, 'unexpected error in the central API');
    res.status(ERROR_STATUS.internal).json({
      error: {
        code: 'internal',
        message: `The central failed unexpectedly. Its log has the details under correlation id ${correlationId}.`,
        data: { correlationId },
      },
    });
  });

  return app;
}

// ---- helpers --------------------------------------------------------------------------------

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
