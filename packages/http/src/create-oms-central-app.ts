import type { CentralService, Clock, SyncStorage, UnitOfWork } from '@sitesync/domain';
import type express from 'express';
import type { Logger } from 'pino';
import { centralSiteVerifier } from './central-site-verifier';
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_CONCURRENT_PER_SITE, type CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import { errorHandler, notFound } from './error-handler';
import { baseApp } from './express-base';
import { LoginThrottle, type LoginLimits } from './login-throttle';
import { omsCentralPage } from './oms-central-page';
import { requestBodyReader } from './request-body';
import { syncRoutes } from './sync-routes';

/** What the Open mSupply central server says about itself (its page, `/health`, the refusals while it is not flagged). */
export interface OmsCentralIdentity {
  readonly siteId: number;
  readonly siteName: string;
  /** whether the mSupply central flags this site as the Open mSupply central server (as of its last sync) */
  readonly flagged: boolean;
  /** the URL the mSupply central tells remote sites */
  readonly url: string | null;
  readonly centralUrl: string;
  /** when this site last completed a sync with the mSupply central */
  readonly lastCentralSyncAt: Date | null;
}

export interface OmsCentralAppDeps {
  /** the Open mSupply central's own store (its feed of Open mSupply data, not the site's data file) */
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  readonly clock: Clock;
  /** the application service over `storage`, with `channel: 'oms-central'` */
  readonly central: CentralService;
  readonly identity: () => OmsCentralIdentity;
  readonly logger: CentralAppLogger;
  readonly requestLogger?: Logger;
  readonly loginLimits?: LoginLimits;
  readonly fetch?: typeof fetch;
  /** takes the topology from the mSupply central again (for a site it does not know yet) */
  readonly refreshTopology?: () => Promise<void>;
  readonly bodyLimit?: string;
  readonly trustProxy?: boolean | number | string;
}

/**
 * The sync API of the Open mSupply central server (seed 000): the very routes of the central
 * (`/sync/v1`, `syncRoutes` over the same application service and storage adapters), for the Open
 * mSupply data types only, with sites authenticated by the mSupply central (`centralSiteVerifier`);
 * `GET /` is its page, with the bar that identifies it as the central server.
 */
export function createOmsCentralApp(deps: OmsCentralAppDeps): express.Express {
  const body = requestBodyReader(deps.bodyLimit ?? DEFAULT_BODY_LIMIT);
  const authenticate = centralSiteVerifier({
    centralUrl: () => deps.identity().centralUrl,
    topologies: deps.central.topologies,
    throttle: new LoginThrottle(deps.loginLimits),
    ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
    ...(deps.refreshTopology !== undefined ? { refreshTopology: deps.refreshTopology } : {}),
  });
  const app = baseApp({ trustProxy: deps.trustProxy, requestLogger: deps.requestLogger });
  app.get('/health', (_req, res) => {
    const me = deps.identity();
    res.json({ status: 'ok', role: 'oms-central', siteId: me.siteId, flagged: me.flagged });
  });
  app.get('/', omsCentralPage(deps.identity));
  app.use(
    '/sync/v1',
    (_req, _res, next) => {
      const me = deps.identity();
      if (!me.flagged) {
        throw SyncHttpError.of(
          'not_initialised',
          `Site ${me.siteId} "${me.siteName}" is not flagged as the Open mSupply central server on the mSupply central (as of its last sync), so it serves no Open mSupply data. ` +
            `On the mSupply central: sitesync-central site set --site ${me.siteId} --oms-central on --oms-central-url URL; this server follows at its next sync.`,
        );
      }
      next();
    },
    syncRoutes({
      storage: deps.storage,
      clock: deps.clock,
      logger: deps.logger,
      central: deps.central,
      body,
      authenticateSite: authenticate,
      maxConcurrentPerSite: DEFAULT_MAX_CONCURRENT_PER_SITE,
    }),
  );
  app.use(notFound);
  app.use(errorHandler(deps.logger, body.limit));
  return app;
}
