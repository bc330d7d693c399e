import {
  buildTopology,
  hasRole,
  type CentralService,
  type CentralTopologySource,
  type Clock,
  type PasswordHasher,
  type Site,
  type SiteConnectionUpdate,
  type SiteInput,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import express, { type RequestHandler } from 'express';
import { addSiteRequestSchema, patchSiteRequestSchema, putRecordsRequestSchema, setPasswordRequestSchema } from './admin-wire';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import { parseBody, parseSiteId, publicSite, sha256HexOf, siteOrNotFound, violationsOrValue } from './request-parsing';
import { adminStoreRoutes } from './admin-store-routes';
import { adminPrimaryRoutes } from './admin-primary-routes';
import { adminExportRoutes } from './admin-export-routes';
import { adminReportRoutes, isStale } from './admin-report-routes';
import { waitingBySite } from './waiting-by-site';

/** The central's setting holding the highest site id it ever gave. */
export const LAST_SITE_ID_SETTING = 'central.last-site-id';

/** The highest site id ever given: the setting, or a site of the topology (a central from before the setting). */
async function highestSiteIdGiven(storage: SyncStorage, topology: Topology): Promise<number> {
  const kept = Number((await storage.settings.get(LAST_SITE_ID_SETTING)) ?? 0);
  return Math.max(Number.isSafeInteger(kept) ? kept : 0, ...topology.sites.map((s) => s.id));
}

export { STALE_AFTER_MS } from './admin-report-routes';

export interface AdminRoutesDeps {
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly logger: CentralAppLogger;
  /** the central application service: every write goes through it (and the processors run after it) */
  readonly central: CentralService;
  /** `central.topologies`, for reads */
  readonly topologies: CentralTopologySource;
  readonly jsonBody: RequestHandler;
}

/** The admin API (`/admin/v1`), behind the admin token: sites, stores, copies, records, issues. */
export function adminRoutes(deps: AdminRoutesDeps): express.Router {
  const { storage, hasher, clock, logger, topologies, central, jsonBody } = deps;
  /** every field as stored now (last connection and sync, failed logins, block), whichever central process wrote them */
  const loadTopology = (): Promise<Topology> => topologies.fresh();
  const admin = express.Router();

  admin.get('/sites', async (_req, res) => {
    const topology = await loadTopology();
    const now = clock.now().getTime();
    const waiting = await waitingBySite(storage, topology);
    res.json({
      sites: topology.sites.map((site) => ({
        ...publicSite(site),
        lastConnectedAt: site.lastConnectedAt?.toISOString() ?? null,
        stale: isStale(site, now),
        waiting: waiting.get(site.id) ?? null,
      })),
    });
  });

  admin.post('/sites', jsonBody, async (req, res) => {
    const input = parseBody(addSiteRequestSchema, req.body);
    const hash = await hasher.hash(sha256HexOf(input.password));
    const site = await central.exclusiveTopology(async (topology, s) => {
      // ids are never given twice: a deleted site's cursors, queue and batch ids stay with its id
      const id = (await highestSiteIdGiven(s, topology)) + 1;
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
      await s.topology.save(next);
      await s.topology.setPasswordHash(id, hash);
      await s.settings.set(LAST_SITE_ID_SETTING, id);
      return { next, value: next.site(id)! };
    });
    logger.info({ siteId: site.id, siteName: site.name, primary: hasRole(site, 'primary') }, 'site added');
    res.status(201).json(publicSite(site));
  });

  admin.put('/sites/:id/password', jsonBody, async (req, res) => {
    const id = parseSiteId(req.params['id']);
    const { password } = parseBody(setPasswordRequestSchema, req.body);
    const site = siteOrNotFound(await loadTopology(), id);
    await storage.storage.topology.setPasswordHash(id, await hasher.hash(sha256HexOf(password)));
    logger.info({ siteId: id }, 'site password changed');
    res.json(publicSite(site));
  });

  /** Unblock, reset the device: connection fields, written alone (`updateSite`: no topology change, nothing to re-route). */
  const siteConnectionPatch = (fields: SiteConnectionUpdate, what: string): RequestHandler =>
    async function patchSite(req, res) {
      const id = parseSiteId(req.params['id']);
      const repository = storage.storage.topology;
      const site = (await repository.updateSite(id, fields)) ? await repository.site(id) : null;
      if (!site) siteOrNotFound(await topologies.fresh(), id); // no such site: 404
      logger.info({ siteId: id }, what);
      res.json(publicSite(site!));
    };

  admin.patch('/sites/:id', jsonBody, async (req, res) => {
    const id = parseSiteId(req.params['id']);
    const { omsCentral, ...fields } = parseBody(patchSiteRequestSchema, req.body);
    const { value: site } = await central.changeTopology(async (topology) => {
      const before = siteOrNotFound(topology, id);
      const roles =
        omsCentral === undefined
          ? before.roles
          : omsCentral
            ? [...new Set([...before.roles, 'oms-central' as const])]
            : before.roles.filter((r) => r !== 'oms-central');
      if (fields.omsCentralUrl && !roles.includes('oms-central')) {
        throw SyncHttpError.of(
          'validation_failed',
          `omsCentralUrl is the URL of the Open mSupply central server, and site ${id} is not flagged as one: send "omsCentral": true with it.`,
          [{ path: 'omsCentralUrl', message: 'only for the site flagged as the Open mSupply central server' }],
        );
      }
      const patch: Partial<Omit<Site, 'id'>> = { ...fields, roles, ...(omsCentral === false ? { omsCentralUrl: null } : {}) };
      const next = violationsOrValue(topology.updateSite(id, patch));
      return { next, value: next.site(id)! };
    });
    logger.info({ siteId: id, changed: Object.keys(req.body as object) }, 'site changed');
    res.json(publicSite(site));
  });

  admin.delete('/sites/:id', async (req, res) => {
    const id = parseSiteId(req.params['id']);
    const { value: site } = await central.changeTopology(async (topology, s) => {
      const site = siteOrNotFound(topology, id);
      const next = violationsOrValue(topology.withoutSite(id, topology.central.id));
      // its id is never given again (a new site must not inherit its cursors, queue or batch ids)
      await s.settings.set(LAST_SITE_ID_SETTING, await highestSiteIdGiven(s, topology));
      return { next, value: site };
    });
    logger.info({ siteId: id, siteName: site.name }, 'site deleted');
    res.json({ deleted: publicSite(site) });
  });

  admin.post('/sites/:id/unblock', siteConnectionPatch({ blocked: false, failedLoginCount: 0 }, 'site unblocked'));
  admin.post('/sites/:id/reset-hardware-id', siteConnectionPatch({ hardwareId: null }, 'site hardware id reset'));

  admin.use(adminPrimaryRoutes(deps));
  admin.use(adminStoreRoutes(deps));
  admin.use(adminExportRoutes(deps));
  admin.use(adminReportRoutes(deps));

  admin.post('/records', jsonBody, async (req, res) => {
    const { records } = parseBody(putRecordsRequestSchema, req.body);
    const result = await central.writeRecords(records);
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

  return admin;
}
