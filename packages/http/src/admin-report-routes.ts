import { hasRole, type Site } from '@sitesync/domain';
import express from 'express';
import type { AdminRoutesDeps } from './admin-routes';
import { waitingBySite } from './waiting-by-site';

/** A site not synced for this long is listed as stale. */
export const STALE_AFTER_MS = 30 * 24 * 60 * 60 * 1000;

/** A site that has not caught up for this long (or never) is stale. */
export function isStale(site: Site, now: number): boolean {
  return !hasRole(site, 'central') && (site.lastSyncedAt === null || now - site.lastSyncedAt.getTime() > STALE_AFTER_MS);
}

/** The sync report: per site and per store, when it last connected and caught up; over a month is stale. */
export function adminReportRoutes(deps: AdminRoutesDeps): express.Router {
  const { storage, clock, topologies } = deps;
  const admin = express.Router();

  admin.get('/report', async (_req, res) => {
    const topology = await topologies.fresh(); // the sites' last connection and sync as stored now
    const now = clock.now();
    const waiting = await waitingBySite(storage, topology);
    const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
    res.json({
      generatedAt: now.toISOString(),
      staleAfterDays: STALE_AFTER_MS / 86_400_000,
      sites: topology.sites.map((site) => ({
        siteId: site.id,
        name: site.name,
        lastConnectedAt: iso(site.lastConnectedAt),
        lastSyncedAt: iso(site.lastSyncedAt),
        waiting: waiting.get(site.id) ?? null,
        stale: isStale(site, now.getTime()),
      })),
      stores: topology.stores.map((store) => {
        const site = topology.site(store.activeSiteId)!;
        return {
          storeId: store.id,
          code: store.code,
          name: store.name,
          siteId: site.id,
          siteName: site.name,
          lastSyncedAt: iso(site.lastSyncedAt),
          stale: isStale(site, now.getTime()),
        };
      }),
    });
  });

  return admin;
}
