import {
  isPushConflict,
  quarantinePrefix,
  siteSyncedBefore,
  waitingFor,
  type CentralService,
  type Clock,
  type SiteId,
  type SyncStorage,
  type UnitOfWork,
} from '@sitesync/domain';
import express, { type Request, type RequestHandler } from 'express';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import { ANSWER_LOCAL } from './metrics';
import { pullAnswerJson } from './pull-answer';
import type { RequestBodyReader } from './request-body';
import { parseBody, parseQuery } from './request-parsing';
import type { SiteAuth } from './site-authentication';
import { parsePushRequest } from './push-request';
import { SiteInfoVersions } from './site-info-versions';
import { pullRequestSchema, siteInfoQuerySchema, statusQuerySchema } from './wire';

/** Refused records listed in a site's status at most (the admin issues route pages through all of them). */
const STATUS_QUARANTINE_LIMIT = 200;

export interface SyncRoutesDeps {
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  readonly clock: Clock;
  readonly logger: CentralAppLogger;
  readonly central: CentralService;
  readonly body: RequestBodyReader;
  /** authenticates the site of a request (Basic auth, API version, hardware id), or throws the error to answer */
  readonly authenticateSite: (req: Request) => Promise<SiteAuth>;
  /** requests one site may have in progress at once */
  readonly maxConcurrentPerSite: number;
}

/**
 * The sync API a remote site calls (`/sync/v1`), each route behind the site's authentication:
 * what a site may do in a sync cycle — learn its site info, push its changes, pull what is routed
 * to it, and read its status.
 */
export function syncRoutes(deps: SyncRoutesDeps): express.Router {
  const { storage, clock, logger, central, body, maxConcurrentPerSite } = deps;
  const repository = storage.storage.topology;
  const siteAuths = new WeakMap<Request, SiteAuth>();
  const siteInfos = new SiteInfoVersions();
  const inFlight = new Map<SiteId, number>();

  const requireSite: RequestHandler = async (req, _res, next) => {
    siteAuths.set(req, await deps.authenticateSite(req));
    next();
  };

  function siteAuthOf(req: Request): SiteAuth {
    const auth = siteAuths.get(req);
    if (!auth) throw new Error('sync route reached without site authentication');
    return auth;
  }

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

  /** Keeps when a site connected or caught up: only those fields of the stored site (a site deleted meanwhile is left alone). */
  async function saveSiteTime(siteId: SiteId, times: { readonly lastSyncedAt?: Date; readonly lastConnectedAt?: Date }): Promise<void> {
    await repository.updateSite(siteId, times);
  }

  const sync = express.Router();

  sync.get('/site', requireSite, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { topologyVersion } = parseQuery(siteInfoQuerySchema, req.query);
    const topology = await central.topologies.load(); // of the stored version: what the site must hold
    // a cycle starts with the site info: the site connected, whether or not it catches up
    await saveSiteTime(site.id, { lastConnectedAt: clock.now() });
    // without the topology when the site holds this very one
    const info = siteInfos.answer(topology, site.id, topologyVersion);
    res.json({ ...info, syncedBefore: await siteSyncedBefore(storage.storage, site) });
  });

  sync.post('/push', requireSite, body.readJson, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { batchId, records, more } = parsePushRequest(req.body);
    const batch = { id: batchId, digest: body.digestOf(req), records };
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

  sync.post('/pull', requireSite, body.readJson, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { cursor, limit, queueCursor, reinitialising, unpushed } = parseBody(pullRequestSchema, req.body);
    const request = {
      cursor: BigInt(cursor),
      limit,
      ...(queueCursor !== undefined ? { queueCursor: BigInt(queueCursor) } : {}),
      ...(reinitialising === true ? { reinitialising } : {}),
      ...(unpushed !== undefined ? { unpushed } : {}),
    };
    const result = await central.pullEncoded(site.id, request);
    if (result.remaining === 0) await saveSiteTime(site.id, { lastSyncedAt: clock.now() });
    (res.locals as Record<string, unknown>)[ANSWER_LOCAL] = { records: result.records, remaining: result.remaining };
    res.type('json').send(pullAnswerJson(result));
  });

  sync.get('/status', requireSite, siteSlot, async (req, res) => {
    const { site } = siteAuthOf(req);
    const { cursor } = parseQuery(statusQuerySchema, req.query);
    const waiting = await storage.run(async (s) => waitingFor(s, await central.topologies.current(s), site.id, BigInt(cursor)));
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

  return sync;
}
