import { planStoreMove, planStoreRemoval, storeDataOnCentral, type ScopeChangeReport, type StoreInput, type Topology } from '@sitesync/domain';
import express from 'express';
import { addStoreRequestSchema, moveStoreRequestSchema, patchStoreRequestSchema, removeStoreRequestSchema, setCopyTypeRequestSchema } from './admin-wire';
import type { AdminRoutesDeps } from './admin-routes';
import { SyncHttpError } from './error-codes';
import { parseBody, parseSiteId, siteOrNotFound, violationsOrValue } from './request-parsing';
import { sitePullState, waitingFor } from '@sitesync/domain';

/** Per site id, how many records a topology change queued to it (sent or dropped at its next pull). */
export function queuedOf(scope: ScopeChangeReport | null): Record<string, number> {
  return Object.fromEntries([...(scope?.queued ?? new Map<number, number>())].map(([siteId, n]) => [String(siteId), n]));
}

/**
 * Centralised procurement is a preference of the primary, followed by every satellite unless it
 * overrides it (`PATCH /admin/v1/sites/:id`), not a setting of one store: refused when sent here.
 */
function refuseStoreProcurement(topology: Topology, input: { readonly centralisedProcurement?: boolean }): void {
  if (input.centralisedProcurement === undefined) return;
  const primary = topology.primary;
  throw SyncHttpError.of(
    'validation_failed',
    `"centralisedProcurement" is not a store setting: it is the centralised procurement preference of the primary (site ${primary.id} "${primary.name}"), which every satellite follows unless it overrides it for the stores active there. ` +
      `Set it on the primary with PATCH /admin/v1/sites/${primary.id} {"centralisedProcurement": true} (CLI: site set --site ${primary.id} --centralised-procurement on), ` +
      'or override it for one site with PATCH /admin/v1/sites/N {"centralisedProcurement": false} (null follows the primary again); leave the field out here.',
    [{ path: 'centralisedProcurement', message: 'a site preference (PATCH /admin/v1/sites/:id), not a store setting' }],
  );
}

function storeOrNotFound(topology: Topology, storeId: string) {
  const store = topology.store(storeId);
  if (!store) throw SyncHttpError.of('not_found', `There is no store "${storeId}". List the stores (GET /admin/v1/stores) to see them.`);
  return store;
}

/**
 * The store routes of the admin API. Every change of the topology goes through
 * `CentralService.changeTopology` (`TopologyCache.change`, which applies it to data in the same unit
 * of work: records that a site must now hold are queued to it, records it may no longer hold are
 * dropped from it; then the central's processors, so transfers the change makes routable complete).
 */
export function adminStoreRoutes(deps: AdminRoutesDeps): express.Router {
  const { logger, topologies, central, jsonBody } = deps;
  const admin = express.Router();

  admin.get('/stores', async (_req, res) => {
    res.json({ stores: (await topologies.load()).stores });
  });

  admin.post('/stores', jsonBody, async (req, res) => {
    const input = parseBody(addStoreRequestSchema, req.body);
    const { value: store, scope } = await central.changeTopology(async (topology) => {
      refuseStoreProcurement(topology, input);
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
        copies,
      };
      const next = violationsOrValue(topology.withStore(storeInput));
      return { next, value: next.store(id)! };
    });
    logger.info({ storeId: store.id, activeSiteId: store.activeSiteId, queued: queuedOf(scope) }, 'store added');
    res.status(201).json({ ...store, queued: queuedOf(scope) });
  });

  admin.patch('/stores/:id', jsonBody, async (req, res) => {
    const storeId = String(req.params['id']);
    const patch = parseBody(patchStoreRequestSchema, req.body);
    const { value: store, scope } = await central.changeTopology(async (topology) => {
      storeOrNotFound(topology, storeId);
      refuseStoreProcurement(topology, patch);
      const next = violationsOrValue(topology.updateStore(storeId, patch));
      return { next, value: next.store(storeId)! };
    });
    logger.info({ storeId, patch, queued: queuedOf(scope) }, 'store changed');
    res.json({ ...store, queued: queuedOf(scope) });
  });

  admin.put('/stores/:id/copies/:siteId', jsonBody, async (req, res) => {
    const storeId = String(req.params['id']);
    const siteId = parseSiteId(req.params['siteId']);
    const { type } = parseBody(setCopyTypeRequestSchema, req.body);
    const { value: store, scope } = await central.changeTopology(async (topology) => {
      storeOrNotFound(topology, storeId);
      siteOrNotFound(topology, siteId);
      const next = violationsOrValue(topology.withCopyType(storeId, siteId, type));
      return { next, value: next.store(storeId)! };
    });
    logger.info({ storeId, siteId, type, queued: queuedOf(scope) }, 'store copy type set');
    res.json({ ...store, queued: queuedOf(scope) });
  });

  /**
   * Moves a store to another site (seed 002 "Moving stores between sync sites"), or to the central
   * (`/remove`, seed 003 "Removing stores"): refused while records still wait for the old site,
   * unless forced.
   */
  const move = async (storeId: string, toSiteId: number | 'central', oldSiteCopy: 'none' | 'transfer' | 'collector', force: boolean) => {
    const { value, scope } = await central.changeTopology(async (topology, s) => {
      storeOrNotFound(topology, storeId);
      if (toSiteId !== 'central') siteOrNotFound(topology, toSiteId);
      const plan = violationsOrValue(
        toSiteId === 'central' ? planStoreRemoval(topology, storeId, oldSiteCopy) : planStoreMove(topology, storeId, toSiteId, oldSiteCopy),
      );
      const from = topology.site(plan.fromSiteId)!;
      if (!force && from.id !== topology.central.id && !storeDataOnCentral(topology, storeId)) {
        throw SyncHttpError.of(
          'precondition_failed',
          `Store "${storeId}" cannot move yet: the central does not hold its data (it has no collector copy on the central, or it is a dispensary with "include transactions in sync" off), so the new site could not receive it and it would stay behind on site ${from.id} "${from.name}". ` +
            'Give the store a collector copy on the central (and turn "include transactions in sync" on), let its site sync, then move it. To move it anyway, send "force": true.',
          { storeId, fromSiteId: from.id },
        );
      }
      if (!force && from.id !== topology.central.id) {
        const { unpushed } = await sitePullState(s, from.id);
        if (unpushed > 0) {
          throw SyncHttpError.of(
            'precondition_failed',
            `Store "${storeId}" cannot move yet: site ${from.id} "${from.name}", its current site, had ${unpushed} changes not pushed at its last sync. ` +
              'Let that site sync until it has pushed everything (its `status` shows waitingToPush 0), with nothing new entered in the store, then move it again. ' +
              'To move it anyway, send "force": true: what it has not pushed will then be refused and listed as an issue.',
            { storeId, fromSiteId: from.id, unpushed },
          );
        }
        const waiting = await waitingFor(s, topology, from.id);
        if (waiting > 0) {
          throw SyncHttpError.of(
            'precondition_failed',
            `Store "${storeId}" cannot move yet: ${waiting} records still wait for site ${from.id} "${from.name}", its current site. ` +
              `Let that site sync until nothing waits (GET /admin/v1/sites shows "waiting"), with nothing new entered in the store, then move it again. ` +
              'To move it anyway, send "force": true: what the old site has not pushed will then be refused and listed as an issue.',
            { storeId, fromSiteId: from.id, waiting },
          );
        }
      }
      return { next: plan.topology, value: plan };
    });
    logger.info({ storeId, fromSiteId: value.fromSiteId, toSiteId: value.toSiteId, oldSiteCopy, queued: queuedOf(scope) }, 'store moved');
    return {
      store: value.topology.store(storeId)!,
      fromSiteId: value.fromSiteId,
      toSiteId: value.toSiteId,
      preconditions: value.preconditions,
      queued: queuedOf(scope),
    };
  };

  admin.post('/stores/:id/move', jsonBody, async (req, res) => {
    const { toSiteId, oldSiteCopy, force } = parseBody(moveStoreRequestSchema, req.body);
    res.json(await move(String(req.params['id']), toSiteId, oldSiteCopy, force));
  });

  admin.post('/stores/:id/remove', jsonBody, async (req, res) => {
    const { oldSiteCopy, force } = parseBody(removeStoreRequestSchema, req.body ?? {});
    res.json(await move(String(req.params['id']), 'central', oldSiteCopy, force));
  });

  return admin;
}
