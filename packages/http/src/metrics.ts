import { performance } from 'node:perf_hooks';
import type { ProcessingReason, SiteId } from '@sitesync/domain';
import type { Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric of the central is named `sitesync_…` (docs/metrics-and-logs.md lists them). */
export const METRIC_PREFIX = 'sitesync_';

/** The route label of a request no route matched (unknown paths, refused admin tokens): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Outcomes of a pushed record, the `outcome` label of `sitesync_records_pushed_total`. */
export const PUSHED_RECORD_OUTCOMES = ['accepted', 'refused'] as const;
export type PushedRecordOutcome = (typeof PUSHED_RECORD_OUTCOMES)[number];

export interface CentralMetricsOptions {
  /**
   * prom-client's default process metrics (CPU, memory, event loop delay, GC, handles) in this
   * registry too, prefixed `sitesync_`; default false. Each instance that has them watches the
   * event loop and the GC for as long as the process lives: one per process (the server's), not
   * one per app built in tests.
   */
  readonly processMetrics?: boolean;
}

/** What the request observer needs from the app. */
export interface RequestObservationSources {
  /** the id of the site with this name (the user of a sync request's Basic auth), undefined when there is none */
  siteIdByName(name: string): Promise<SiteId | undefined>;
}

/** Records waiting per site (`waitingFor` of @sitesync/domain for every site but the central), read at each scrape. */
export type WaitingBySite = () => Promise<ReadonlyMap<SiteId, number>>;

const SYNC_PREFIX = '/sync/v1/';

/**
 * The central's Prometheus metrics (prom-client), in a registry of their own (not prom-client's
 * global one), so that several apps in one process do not clash. The HTTP metrics are taken from the
 * outside of the API: `observe(...)` is a middleware that looks at each request's route, status,
 * the site of its Basic auth and its JSON answer (pushes, pulls, records pushed and pulled, error
 * codes, sync cycles); the processing metrics are fed by the `CentralService` callbacks
 * (`processed`, `processingFailed`); `serve(...)` answers a scrape, reading the records waiting per
 * site then. One instance serves one app.
 */
export class CentralMetrics {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly pushes: Counter<'site_id'>;
  private readonly pulls: Counter<'site_id'>;
  private readonly recordsPushed: Counter<'site_id' | 'outcome'>;
  private readonly recordsPulled: Counter<'site_id'>;
  private readonly errorAnswers: Counter<'code'>;
  private readonly cycleDuration: Histogram<'site_id'>;
  private readonly waiting: Gauge<'site_id'>;
  private readonly processingLag: Histogram<'reason'>;
  private readonly processingFailures: Counter;
  /** when each site's sync cycle started (its `GET /sync/v1/site`), in performance.now() milliseconds */
  private readonly cycleStarts = new Map<SiteId, number>();

  constructor(options: CentralMetricsOptions = {}) {
    const registers = [this.registry];
    const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
    this.requestDuration = new Histogram({
      name: name('http_request_duration_seconds'),
      help: 'Time to answer an HTTP request, by method, route template (e.g. /admin/v1/sites/:id) and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.pushes = new Counter({ name: name('pushes_total'), help: 'Pushes answered 200 (replays included), by site.', labelNames: ['site_id'], registers });
    this.pulls = new Counter({ name: name('pulls_total'), help: 'Pulls answered 200, by site.', labelNames: ['site_id'], registers });
    this.recordsPushed = new Counter({
      name: name('records_pushed_total'),
      help: 'Records received in pushes (replays not counted again), by site and outcome (accepted or refused).',
      labelNames: ['site_id', 'outcome'],
      registers,
    });
    this.recordsPulled = new Counter({
      name: name('records_pulled_total'),
      help: 'Records sent in pull answers, by site.',
      labelNames: ['site_id'],
      registers,
    });
    this.errorAnswers = new Counter({
      name: name('error_answers_total'),
      help: 'Error answers of the API, by error code (site_auth_failed, rate_limited, ...).',
      labelNames: ['code'],
      registers,
    });
    this.cycleDuration = new Histogram({
      name: name('sync_cycle_duration_seconds'),
      help: "A site's sync cycle as the central sees it: from its GET /sync/v1/site to its pull answered with remaining 0.",
      labelNames: ['site_id'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.waiting = new Gauge({
      name: name('records_waiting'),
      help: 'Records waiting for each site after the cursor of its last pull (its resync queue included), read at scrape time.',
      labelNames: ['site_id'],
      registers,
    });
    this.processingLag = new Histogram({
      name: name('processing_lag_seconds'),
      help: "The central's processor lag: from the earliest write a processing run covers to the end of that run, by what made it run.",
      labelNames: ['reason'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.processingFailures = new Counter({
      name: name('processing_failures_total'),
      help: 'Processing runs that failed after a write (the write was stored; the run is retried).',
      registers,
    });
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** A processing run succeeded (`CentralService`'s `onProcessed`), `lagMs` after the earliest write it covers. */
  processed(reason: ProcessingReason, lagMs: number): void {
    this.processingLag.observe({ reason }, Math.max(0, lagMs) / 1000);
  }

  /** A processing run failed (`CentralService`'s `onProcessingFailed`). */
  processingFailed(): void {
    this.processingFailures.inc();
  }

  /** The middleware that observes every request: mount it before the routes. */
  observe(sources: RequestObservationSources): RequestHandler {
    return (req, res, next) => {
      const started = performance.now();
      const routeTemplate = routeTemplateOf(req);
      const answer = jsonAnswerOf(res);
      const siteName = req.path.startsWith(SYNC_PREFIX) ? basicAuthUser(req.get('authorization')) : null;
      // Looked up now, so that it is known by the time the answer is sent.
      const siteId = siteName === null ? Promise.resolve(undefined) : sources.siteIdByName(siteName).catch(() => undefined);
      res.once('finish', () => {
        const route = routeTemplate();
        const status = res.statusCode;
        this.requestDuration.observe({ method: req.method, route, status: String(status) }, (performance.now() - started) / 1000);
        const body = answer();
        const code = errorCodeOf(body);
        if (code !== null) this.errorAnswers.inc({ code });
        if (siteName === null || status !== 200) return;
        void siteId.then((id) => {
          if (id !== undefined) this.countSync(id, `${req.method} ${route}`, body);
        });
      });
      next();
    };
  }

  /** The handler of `GET /metrics` (mount it behind the admin authentication): reads the records waiting per site, then answers every metric. */
  serve(waitingBySite?: WaitingBySite): RequestHandler {
    return async (_req, res) => {
      if (waitingBySite) {
        const counts = await waitingBySite();
        this.waiting.reset(); // a deleted site's series goes away
        for (const [siteId, count] of counts) this.waiting.set({ site_id: String(siteId) }, count);
      }
      res.set('content-type', this.registry.contentType);
      res.set('cache-control', 'no-store');
      res.send(await this.registry.metrics());
    };
  }

  private countSync(siteId: SiteId, request: string, body: unknown): void {
    const site_id = String(siteId);
    const now = performance.now();
    switch (request) {
      case 'GET /sync/v1/site':
        this.cycleStarts.set(siteId, now);
        return;
      case 'POST /sync/v1/push': {
        const push = (body ?? {}) as { replayed?: boolean; accepted?: unknown; refused?: unknown };
        this.pushes.inc({ site_id });
        if (push.replayed === true) return; // its records were counted when it was first stored
        if (typeof push.accepted === 'number') this.recordsPushed.inc({ site_id, outcome: 'accepted' }, push.accepted);
        if (Array.isArray(push.refused)) this.recordsPushed.inc({ site_id, outcome: 'refused' }, push.refused.length);
        return;
      }
      case 'POST /sync/v1/pull': {
        const pull = (body ?? {}) as { records?: unknown; remaining?: unknown };
        this.pulls.inc({ site_id });
        if (Array.isArray(pull.records)) this.recordsPulled.inc({ site_id }, pull.records.length);
        const started = this.cycleStarts.get(siteId);
        if (pull.remaining === 0 && started !== undefined) {
          this.cycleStarts.delete(siteId);
          this.cycleDuration.observe({ site_id }, (now - started) / 1000);
        }
        return;
      }
    }
  }
}

/**
 * The route template of a request (`/admin/v1/sites/:id`), never its URL. Express sets `req.route`
 * when a route matches, while `req.baseUrl` is its router's mount path; by the time the answer is
 * sent the base is gone when the route threw (the error left the router). So the template is taken
 * at the moment the route is set.
 */
function routeTemplateOf(req: Request): () => string {
  let template = UNMATCHED_ROUTE;
  let route: unknown = undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (typeof path !== 'string') return;
      const full = `${req.baseUrl}${path}`;
      template = full.length > 1 && full.endsWith('/') ? full.slice(0, -1) : full;
    },
  });
  return () => template;
}

/** Keeps the body the app answers with `res.json` (the error handler's too). */
function jsonAnswerOf(res: Response): () => unknown {
  let body: unknown = undefined;
  const json = res.json.bind(res);
  res.json = ((value: unknown) => {
    body = value;
    return json(value);
  }) as Response['json'];
  // an answer encoded by its route (a pull) leaves what it said in `res.locals[ANSWER_LOCAL]`
  return () => body ?? (res.locals as Record<string, unknown>)[ANSWER_LOCAL];
}

/** Where a route that encodes its JSON answer itself leaves what metrics count of it (a pull: its records and remaining). */
export const ANSWER_LOCAL = 'sitesyncAnswer';

function errorCodeOf(body: unknown): string | null {
  const error = (body as { error?: { code?: unknown } } | null | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : null;
}

/** The user name of a Basic Authorization header (a site name), or null. */
function basicAuthUser(header: string | undefined): string | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.lastIndexOf(':'); // the password (a SHA-256 hex) has no colon; a site name may
  return colon > 0 ? decoded.slice(0, colon) : null;
}
