import { movePrimaryRole, sitePullState, waitingFor } from '@sitesync/domain';
import express from 'express';
import type { AdminRoutesDeps } from './admin-routes';
import { queuedOf } from './admin-store-routes';
import { makePrimaryRequestSchema } from './admin-wire';
import { SyncHttpError } from './error-codes';
import { parseBody, parseSiteId, publicSite, siteOrNotFound, violationsOrValue } from './request-parsing';

/**
 * Moving the primary role (seed 002, "Mirrored sync"): to an existing site that holds every store,
 * once the old primary has pushed what it edited and the new one holds what waits for it (unless
 * forced). Data follows as for every topology change: each site is sent what its new role routes
 * to it.
 */
export function adminPrimaryRoutes(deps: AdminRoutesDeps): express.Router {
  const { logger, central, jsonBody } = deps;
  const admin = express.Router();

  admin.post('/sites/:id/make-primary', jsonBody, async (req, res) => {
    const id = parseSiteId(req.params['id']);
    const { force } = parseBody(makePrimaryRequestSchema, req.body ?? {});
    const { value, scope } = await central.changeTopology(async (topology, s) => {
      const site = siteOrNotFound(topology, id);
      const old = topology.primary;
      if (old.id === id) return { next: null, value: { from: old, to: site } };
      if (!force && old.id !== topology.central.id) {
        const { unpushed } = await sitePullState(s, old.id);
        if (unpushed > 0) {
          throw SyncHttpError.of(
            'precondition_failed',
            `The primary role cannot move yet: site ${old.id} "${old.name}", the primary now, had ${unpushed} changes not pushed at its last sync, and central data it edited would be refused once it is no longer the primary. ` +
              'Let it sync until it has pushed everything (its `status` shows waitingToPush 0), with no central data edited there meanwhile, then move the role. To move it anyway, send "force": true.',
            { fromSiteId: old.id, unpushed },
          );
        }
      }
      if (!force && id !== topology.central.id) {
        const waiting = await waitingFor(s, topology, id);
        if (waiting > 0) {
          throw SyncHttpError.of(
            'precondition_failed',
            `The primary role cannot move yet: ${waiting} records still wait for site ${id} "${site.name}", which would then edit central data without its latest versions. ` +
              'Let that site sync until nothing waits for it (GET /admin/v1/sites shows "waiting"), then move the role. To move it anyway, send "force": true.',
            { toSiteId: id, waiting },
          );
        }
      }
      const next = violationsOrValue(movePrimaryRole(topology, id));
      return { next, value: { from: next.site(old.id)!, to: next.site(id)! } };
    });
    const queued = queuedOf(scope);
    logger.info({ fromSiteId: value.from.id, toSiteId: value.to.id, queued }, 'primary role moved');
    res.json({ from: publicSite(value.from), to: publicSite(value.to), queued });
  });

  return admin;
}
