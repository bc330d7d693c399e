import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  acceptPush,
  buildTopology,
  countWaiting,
  decideLogin,
  hasRole,
  PullServer,
  recordLocalChange,
  siteInfoFor,
  type Clock,
  type PasswordHasher,
  type Result,
  type RoutingContext,
  type Site,
  type SiteId,
  type SiteInput,
  type StoreInput,
  type SyncIssue,
  type SyncStorage,
  type Topology,
  type TopologyViolation,
  type UnitOfWork,
} from '@sitesync/domain';
import compression from 'compression';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { addSiteRequestSchema, addStoreRequestSchema, putRecordsRequestSchema, setCopyTypeRequestSchema, setPasswordRequestSchema } from './admin-wire';
import { AsyncMutex } from './async-mutex';
import { ERROR_STATUS, SyncHttpError } from './error-codes';
import { HEADERS, pullRequestSchema, pushRequestSchema, statusQuerySchema } from './wire';

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
  readonly routingContext?: RoutingContext;
  readonly apiVersions?: { readonly min: number; readonly max: number }; // default 1..1
  readonly bodyLimit?: string; // default '64mb' (decompressed size)
  readonly logger?: CentralAppLogger;
  /** called after every accepted push (the app uses it to run transfer processing); errors are logged, not returned */
  readonly afterPush?: (siteId: SiteId) => Promise<void>;
}

/** A site not synced for this long is listed as stale. */
export const STALE_AFTER_MS = 30 * 24 * 60 * 60 * 1000;

const DEFAULT_BODY_LIMIT = '64mb';
/** How long, and for how many credentials, a successful password check is remembered. */
const VERIFIED_CACHE_MS = 10 * 60 * 1000;
const VERIFIED_CACHE_SIZE = 1_000;

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

interface SiteAuth {
  readonly site: Site;
  /** the topology as saved after this login */
  readonly topology: Topology;
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
  const routingContext = deps.routingContext ?? {};
  const apiVersions = deps.apiVersions ?? { min: 1, max: 1 };
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const topologyLock = new AsyncMutex();
  const pulls = new PullServer(routingContext);
  const adminTokenDigest = digest(deps.adminToken);
  const siteAuths = new WeakMap<Request, SiteAuth>();
  let dummyHash: Promise<string> | null = null;
  /** digest of (site, stored hash, credential) -> until when a successful check holds */
  const verified = new Map<string, number>();

  const jsonBody = express.json({ limit: bodyLimit, inflate: true });

  /**
   * The topology, loaded once and kept: this process is the only writer (one central process per
   * database), and every change below goes through `changeTopology` or `saveLogin`, which update it.
   */
  let cachedTopology: Topology | null = null;

  async function loadTopology(): Promise<Topology> {
    const topology = cachedTopology ?? (cachedTopology = await repository.load());
    if (topology === null) {
      throw SyncHttpError.of(
        'not_initialised',
        'The central has no sites or stores yet. Initialise it first (create the central site and the topology), then add sites and stores.',
      );
    }
    return topology;
  }

  /** Loads, changes and saves the topology, one change at a time in this process. */
  function changeTopology<T>(change: (topology: Topology) => Promise<{ readonly next: Topology | null; readonly value: T }>): Promise<T> {
    return topologyLock.run(async () => {
      const { next, value } = await change(await loadTopology());
      if (next !== null) {
        await repository.save(next);
        cachedTopology = next;
      }
      return value;
    });
  }

  // ---- site authentication -------------------------------------------------------------------

  function checkApiVersion(req: Request): void {
    const header = req.get(HEADERS.apiVersion);
    const version = header !== undefined && /^\d{1,6}$/.test(header.trim()) ? Number(header.trim()) : null;
    if (version !== null && version >= apiVersions.min && version <= apiVersions.max) return;
    const supported = apiVersions.min === apiVersions.max ? `version ${apiVersions.min}` : `versions ${apiVersions.min} to ${apiVersions.max}`;
    const sent = header === undefined ? `no ${HEADERS.apiVersion} header` : `version "${header}"`;
    throw SyncHttpError.of(
      'api_version_incompatible',
      `This central supports sync API ${supported}; the site sent ${sent}. ` +
        (version !== null && version > apiVersions.max
          ? 'The site is newer than the central: upgrade the central server.'
          : "Upgrade the site's app to a version that speaks a supported sync API version (or upgrade the central if the site is newer)."),
      { min: apiVersions.min, max: apiVersions.max, received: version },
    );
  }

  /**
   * Scrypt is slow on purpose, and a site sends its credentials with every request (dozens per
   * sync): a successful check is remembered for a while, keyed by a digest of the site, its stored
   * hash and the credential sent, so a new password (a new hash) is checked again at once. Failures
   * are never remembered.
   */
  async function verifyPassword(siteId: SiteId, password: string, hash: string): Promise<boolean> {
    const key = createHash('sha256').update(`${siteId}\u0000${hash}\u0000${password}`, 'utf8').digest('base64');
    const now = Date.now();
    const until = verified.get(key);
    if (until !== undefined && until > now) return true;
    verified.delete(key);
    const matches = await hasher.verify(password, hash);
    if (matches) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(key, now + VERIFIED_CACHE_MS);
    }
    return matches;
  }

  /** A failed check takes as long as a real one, so that response times do not tell which site names exist. */
  async function verifyAgainstDummy(password: string): Promise<void> {
    dummyHash ??= hasher.hash(randomBytes(16).toString('hex'));
    await hasher.verify(password, await dummyHash);
  }

  const authFailed = (): SyncHttpError =>
    SyncHttpError.of(
      'site_auth_failed',
      'Wrong site name or password. Check both on the site; too many failed logins in a row block the site until an administrator unblocks it on the central.',
    );

  async function authenticateSite(req: Request): Promise<SiteAuth> {
    const credentials = parseBasicAuth(req.get('authorization'));
    checkApiVersion(req);
    const hardwareId = headerValue(req, HEADERS.hardwareId);
    const appName = headerValue(req, HEADERS.appName);
    const appVersion = headerValue(req, HEADERS.appVersion);

    const candidate = (await loadTopology()).siteByName(credentials.siteName);
    const hash = candidate && !candidate.blocked ? await repository.passwordHash(candidate.id) : null;
    let passwordMatches = false;
    if (candidate && hash !== null) passwordMatches = await verifyPassword(candidate.id, normaliseSha256(credentials.password), hash);
    else await verifyAgainstDummy(credentials.password);
    if (!candidate) {
      logger.warn({ siteName: credentials.siteName, ip: req.ip }, 'sync login refused: unknown site name');
      throw authFailed();
    }

    return topologyLock.run(async () => {
      const topology = await loadTopology();
      const site = topology.site(candidate.id);
      // Renamed or removed while the password was being checked.
      if (!site || site.name !== candidate.name) throw authFailed();
      const decision = decideLogin(site, { passwordMatches, hardwareId, appName, appVersion });
      let current = topology;
      if (decision.changed) {
        current = violationsOrValue(topology.updateSite(site.id, decision.site));
        await repository.saveSite(current.site(site.id)!);
        cachedTopology = current;
      }
      if (decision.outcome === 'accepted') return { site: decision.site, topology: current };
      logger.warn({ siteId: site.id, siteName: site.name, outcome: decision.outcome, ip: req.ip }, `sync login refused: ${decision.reason}`);
      switch (decision.outcome) {
        case 'wrong-password':
          throw authFailed();
        case 'blocked':
          throw SyncHttpError.of('site_blocked', decision.reason, { siteId: site.id });
        case 'incorrect-hardware-id':
          throw SyncHttpError.of('site_incorrect_hardware_id', decision.reason, { siteId: site.id });
      }
    });
  }

  const requireSite: RequestHandler = async (req, _res, next) => {
    siteAuths.set(req, await authenticateSite(req));
    next();
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
  app.set('etag', false);
  app.use(compression());

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const sync = express.Router();

  sync.get('/site', requireSite, (req, res) => {
    const { site, topology } = siteAuthOf(req);
    res.json(siteInfoFor(topology, site.id));
  });

  sync.post('/push', requireSite, jsonBody, async (req, res) => {
    const { site, topology } = siteAuthOf(req);
    const { batchId, records } = parseBody(pushRequestSchema, req.body);
    const result = await storage.run((s) => acceptPush(s, topology, site.id, batchId, records, clock.now()));
    logger.info(
      { siteId: site.id, batchId, received: records.length, accepted: result.accepted, refused: result.refused.length, replayed: result.replayed === true },
      'push received',
    );
    if (result.replayed !== true && result.accepted > 0 && deps.afterPush) {
      try {
        await deps.afterPush(site.id);
      } catch (error) {
        logger.error({ err: error, siteId: site.id, batchId }, 'processing after a push failed (the push itself was stored)');
      }
    }
    res.json(result);
  });

  sync.post('/pull', requireSite, jsonBody, async (req, res) => {
    const { site, topology } = siteAuthOf(req);
    const { cursor, limit } = parseBody(pullRequestSchema, req.body);
    const result = await storage.run((s) => pulls.pull(s, topology, site.id, BigInt(cursor), limit));
    if (result.remaining === 0) {
      const now = clock.now();
      await topologyLock.run(async () => {
        const current = await loadTopology();
        if (!current.site(site.id)) return;
        const next = violationsOrValue(current.updateSite(site.id, { lastSyncedAt: now }));
        await repository.saveSite(next.site(site.id)!);
        cachedTopology = next;
      });
    }
    res.json({ records: result.records, nextCursor: result.nextCursor.toString(), remaining: result.remaining });
  });

  sync.get('/status', requireSite, async (req, res) => {
    const { site, topology } = siteAuthOf(req);
    const { cursor } = parseQuery(statusQuerySchema, req.query);
    const waiting = await storage.run((s) => countWaiting(s, topology, site.id, BigInt(cursor), routingContext));
    const prefix = `quarantine:${site.id}:`;
    const quarantined = (await storage.storage.issues.open())
      .filter((issue) => issue.key.startsWith(prefix))
      .map((issue) => ({
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

  const admin = express.Router();
  admin.use(requireAdmin);

  admin.get('/sites', async (_req, res) => {
    const topology = await loadTopology();
    const now = clock.now().getTime();
    res.json({
      sites: topology.sites.map((site) => ({
        ...publicSite(site),
        stale: !hasRole(site, 'central') && (site.lastSyncedAt === null || now - site.lastSyncedAt.getTime() > STALE_AFTER_MS),
        waiting: null,
      })),
    });
  });

  admin.post('/sites', jsonBody, async (req, res) => {
    const input = parseBody(addSiteRequestSchema, req.body);
    const hash = await hasher.hash(sha256HexOf(input.password));
    const site = await topologyLock.run(async () => {
      const topology = await loadTopology();
      const id = Math.max(0, ...topology.sites.map((s) => s.id)) + 1;
      const siteInput: SiteInput = {
        id,
        name: input.name,
        ...(input.code !== undefined ? { code: input.code } : {}),
        ...(input.deviceType !== undefined ? { deviceType: input.deviceType } : {}),
        ...(input.syncIntervalMinutes !== undefined ? { syncIntervalMinutes: input.syncIntervalMinutes } : {}),
        roles: input.primary === true ? ['primary'] : [],
      };
      const next = violationsOrValue(
        input.primary === true
          ? buildTopology({
              sites: [...topology.sites.map((s) => (hasRole(s, 'primary') ? { ...s, roles: s.roles.filter((r) => r !== 'primary') } : s)), siteInput],
              stores: topology.stores,
            })
          : topology.withSite(siteInput),
      );
      await storage.run(async (s) => {
        await s.topology.save(next);
        await s.topology.setPasswordHash(id, hash);
      });
      cachedTopology = next;
      return next.site(id)!;
    });
    logger.info({ siteId: site.id, siteName: site.name, primary: hasRole(site, 'primary') }, 'site added');
    res.status(201).json(publicSite(site));
  });

  admin.put('/sites/:id/password', jsonBody, async (req, res) => {
    const id = parseSiteId(req.params['id']);
    const { password } = parseBody(setPasswordRequestSchema, req.body);
    const site = siteOrNotFound(await loadTopology(), id);
    await repository.setPasswordHash(id, await hasher.hash(sha256HexOf(password)));
    logger.info({ siteId: id }, 'site password changed');
    res.json(publicSite(site));
  });

  const sitePatch = (patch: Partial<Omit<Site, 'id'>>, what: string): RequestHandler =>
    async function patchSite(req, res) {
      const id = parseSiteId(req.params['id']);
      const site = await changeTopology(async (topology) => {
        siteOrNotFound(topology, id);
        const next = violationsOrValue(topology.updateSite(id, patch));
        return { next, value: next.site(id)! };
      });
      logger.info({ siteId: id }, what);
      res.json(publicSite(site));
    };

  admin.post('/sites/:id/unblock', sitePatch({ blocked: false, failedLoginCount: 0 }, 'site unblocked'));
  admin.post('/sites/:id/reset-hardware-id', sitePatch({ hardwareId: null }, 'site hardware id reset'));

  admin.get('/stores', async (_req, res) => {
    res.json({ stores: (await loadTopology()).stores });
  });

  admin.post('/stores', jsonBody, async (req, res) => {
    const input = parseBody(addStoreRequestSchema, req.body);
    const store = await changeTopology(async (topology) => {
      const centralId = topology.central.id;
      const copies = [...(input.copies ?? [])];
      if (input.activeSiteId !== centralId && !copies.some((c) => c.siteId === centralId)) {
        copies.push({ siteId: centralId, type: input.centralCopy ?? 'collector' });
      }
      const id = input.id ?? input.code;
      const storeInput: StoreInput = {
        id,
        code: input.code,
        name: input.name,
        activeSiteId: input.activeSiteId,
        ...(input.isDispensary !== undefined ? { isDispensary: input.isDispensary } : {}),
        ...(input.includeTransactionsInSync !== undefined ? { includeTransactionsInSync: input.includeTransactionsInSync } : {}),
        ...(input.centralisedProcurement !== undefined ? { centralisedProcurement: input.centralisedProcurement } : {}),
        copies,
      };
      const next = violationsOrValue(topology.withStore(storeInput));
      return { next, value: next.store(id)! };
    });
    logger.info({ storeId: store.id, activeSiteId: store.activeSiteId }, 'store added');
    res.status(201).json(store);
  });

  admin.put('/stores/:id/copies/:siteId', jsonBody, async (req, res) => {
    const storeId = String(req.params['id']);
    const siteId = parseSiteId(req.params['siteId']);
    const { type } = parseBody(setCopyTypeRequestSchema, req.body);
    const store = await changeTopology(async (topology) => {
      if (!topology.store(storeId)) throw SyncHttpError.of('not_found', `There is no store "${storeId}". List the stores (GET /admin/v1/stores) to see them.`);
      siteOrNotFound(topology, siteId);
      const next = violationsOrValue(topology.withCopyType(storeId, siteId, type));
      return { next, value: next.store(storeId)! };
    });
    logger.info({ storeId, siteId, type }, 'store copy type set');
    res.json(store);
  });

  admin.post('/records', jsonBody, async (req, res) => {
    const { records } = parseBody(putRecordsRequestSchema, req.body);
    const topology = await loadTopology();
    const result = await recordLocalChange({ unitOfWork: storage }, topology, topology.central.id, records, routingContext);
    if (!result.ok) {
      const first = result.error[0]!;
      throw SyncHttpError.of(
        'record_refused',
        `${result.error.length} of ${records.length} records refused by the edit rules, nothing was written. First: ${first.message} Fix: ${first.fix}`,
        result.error,
      );
    }
    res.json({ written: result.value.written });
  });

  admin.get('/issues', async (_req, res) => {
    const issues: readonly SyncIssue[] = await storage.storage.issues.open();
    res.json({ issues });
  });

  app.use('/admin/v1', admin);

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

function sha256HexOf(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/** A SHA-256 hex sent in upper case still matches. */
function normaliseSha256(password: string): string {
  return /^[0-9a-fA-F]{64}$/.test(password) ? password.toLowerCase() : password;
}

function headerValue(req: Request, name: string): string | null {
  const value = req.get(name)?.trim();
  if (value === undefined || value === '') return null;
  if (value.length > 200)
    throw SyncHttpError.of('validation_failed', `Header ${name} is longer than 200 characters.`, [{ path: name, message: 'at most 200 characters' }]);
  return value;
}

function parseBasicAuth(header: string | undefined): { readonly siteName: string; readonly password: string } {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  // The password (a SHA-256 hex) has no colon; a site name may.
  const colon = decoded.lastIndexOf(':');
  if (colon <= 0) {
    throw SyncHttpError.of(
      'auth_required',
      header === undefined
        ? 'Sync requests need "Authorization: Basic base64(<site name>:<sha256 hex of the site password>)".'
        : 'The Authorization header is not "Basic base64(<site name>:<sha256 hex of the site password>)".',
    );
  }
  return { siteName: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function publicSite(site: Site): Record<string, unknown> {
  // Listed field by field: whatever is added to Site later is not published by accident.
  return {
    id: site.id,
    code: site.code,
    name: site.name,
    roles: site.roles,
    omsCentralUrl: site.omsCentralUrl,
    deviceType: site.deviceType,
    appName: site.appName,
    appVersion: site.appVersion,
    hardwareId: site.hardwareId,
    syncIntervalMinutes: site.syncIntervalMinutes,
    requestSize: site.requestSize,
    serverUrl: site.serverUrl,
    failedLoginCount: site.failedLoginCount,
    blocked: site.blocked,
    lastSyncedAt: site.lastSyncedAt?.toISOString() ?? null,
  };
}

function parseSiteId(raw: unknown): SiteId {
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || Number(raw) <= 0) {
    throw SyncHttpError.of('validation_failed', `Site id "${String(raw)}" is not a positive whole number.`, [
      { path: 'id', message: 'a positive whole number' },
    ]);
  }
  return Number(raw);
}

function siteOrNotFound(topology: Topology, id: SiteId): Site {
  const site = topology.site(id);
  if (!site) throw SyncHttpError.of('not_found', `There is no site ${id}. List the sites (GET /admin/v1/sites) to see them.`);
  return site;
}

function violationsOrValue<T>(result: Result<T, readonly TopologyViolation[]>): T {
  if (result.ok) return result.value;
  const first = result.error[0];
  const summary = first ? `${first.message} Fix: ${first.fix}` : 'no details';
  const more = result.error.length > 1 ? ` (and ${result.error.length - 1} more, see data)` : '';
  throw SyncHttpError.of('topology_rule_violated', `The change breaks the topology rules: ${summary}${more}`, result.error);
}

function zodProblems(error: z.ZodError): { readonly path: string; readonly message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined) {
    throw SyncHttpError.of('validation_failed', 'The request needs a JSON body: send Content-Type: application/json.', [
      { path: '', message: 'missing JSON body' },
    ]);
  }
  return parseWith(schema, body, 'request body');
}

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseWith(schema, query, 'query string');
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error);
  const first = problems[0];
  const field = first && first.path !== '' ? `field "${first.path}"` : `the ${where}`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems, see data)` : '';
  throw SyncHttpError.of('validation_failed', `Invalid ${where}: ${field}: ${first?.message ?? 'invalid'}${more}`, problems);
}

/** Errors with a meaning for the client: ours, and the JSON body parser's. */
function toSyncHttpError(error: unknown, bodyLimit: string): SyncHttpError | null {
  if (error instanceof SyncHttpError) return error;
  if (typeof error !== 'object' || error === null) return null;
  // The body parser's errors: a 4xx status, and a `type` (or `expose`, e.g. a corrupt gzip stream).
  const { type, status, expose } = error as { type?: unknown; status?: unknown; expose?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500 || (typeof type !== 'string' && expose !== true)) return null;
  const kind = typeof type === 'string' ? type : status === 413 ? 'entity.too.large' : 'unreadable body';
  switch (kind) {
    case 'entity.too.large':
      return SyncHttpError.of('payload_too_large', `The request body is larger than ${bodyLimit} (once decompressed). Send fewer records per request.`, {
        limit: bodyLimit,
      });
    case 'entity.parse.failed':
      return SyncHttpError.of('validation_failed', `The request body is not valid JSON: ${(error as { message?: unknown }).message as string}`, [
        { path: '', message: 'invalid JSON' },
      ]);
    case 'encoding.unsupported':
      return SyncHttpError.of('validation_failed', 'Unsupported Content-Encoding: send the body as is, or compressed with gzip or deflate.', [
        { path: '', message: 'unsupported content-encoding' },
      ]);
    default:
      return SyncHttpError.of(
        'validation_failed',
        `The request could not be read (${String((error as { message?: unknown }).message)}): check the body and its Content-Encoding.`,
        [{ path: '', message: kind }],
      );
  }
}
