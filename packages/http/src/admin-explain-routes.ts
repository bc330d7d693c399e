import {
  explainIssue,
  explainRecord,
  isKnownRecordType,
  patientsOf,
  pushContext,
  visibilityContext,
  type CentralTopologySource,
  type SyncRecord,
  type SyncStorage,
  type UnitOfWork,
} from '@sitesync/domain';
import express from 'express';
import { explainIssueQuerySchema } from './admin-wire';
import { SyncHttpError } from './error-codes';
import { parseQuery } from './request-parsing';

export interface AdminExplainRoutesDeps {
  readonly storage: UnitOfWork & { readonly storage: SyncStorage };
  /** `central.topologies`: the topology a pull would route by */
  readonly topologies: CentralTopologySource;
}

/**
 * Explain (read-only, so a view-only token may call it):
 * - `GET /records/:type/:id/explain`: for a record the central holds, every site's decision (receives
 *   it or not, may edit it or not) with the rule id and the reason, computed as a pull would (the
 *   topology of this moment, the patients' visibility the central holds);
 * - `GET /issues/explain?key=`: an open issue; for a refused push (`quarantine:<site>:<type>:<id>`)
 *   the site, the rule, the message and fix and, when the issue kept the record, what is needed.
 */
export function adminExplainRoutes(deps: AdminExplainRoutesDeps): express.Router {
  const { storage, topologies } = deps;
  const router = express.Router();

  router.get('/records/:type/:id/explain', async (req, res) => {
    const type = req.params['type'] ?? '';
    const id = req.params['id'] ?? '';
    const answer = await storage.run(async (s) => {
      const record = await s.records.get(type, id);
      if (!record) return null;
      const topology = await topologies.current(s);
      return explainRecord(topology, record, await visibilityContext(s, patientsOf([record])));
    });
    if (!answer) {
      const why = isKnownRecordType(type)
        ? `The central holds no ${type} with id ${JSON.stringify(id)}: it was never pushed to the central, was refused (see GET /admin/v1/issues?prefix=quarantine:), or the central does not keep it.`
        : `"${type}" is not a record type of the catalogue (docs/sync-rules.md), so the central holds no ${type} ${JSON.stringify(id)}. Check the type.`;
      throw SyncHttpError.of('not_found', why, { type, id });
    }
    res.json(answer);
  });

  router.get('/issues/explain', async (req, res) => {
    const { key } = parseQuery(explainIssueQuerySchema, req.query);
    const answer = await storage.run(async (s) => {
      const [issue] = await s.issues.open({ prefix: key, limit: 1 });
      if (!issue || issue.key !== key) return null;
      const topology = await topologies.current(s);
      const subject = (issue as { readonly subject?: SyncRecord | null }).subject ?? null;
      const explained = subject
        ? explainIssue(topology, issue, { routing: await visibilityContext(s, patientsOf([subject])), push: await pushContext(s, topology, [subject]) })
        : explainIssue(topology, issue);
      return { ...explained, firstSeenAt: issue.firstSeenAt, lastSeenAt: issue.lastSeenAt, occurrences: issue.occurrences };
    });
    if (!answer) {
      throw SyncHttpError.of(
        'not_found',
        `There is no open issue with key ${JSON.stringify(key)}: it was resolved, or the key is mistyped. List the open issues with GET /admin/v1/issues.`,
        { key },
      );
    }
    res.json(answer);
  });

  return router;
}
