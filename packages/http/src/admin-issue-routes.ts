import { isRetryable, quarantinedSiteOf, type CentralService, type Clock, type SyncIssue, type SyncStorage } from '@sitesync/domain';
import express, { type Request, type RequestHandler } from 'express';
import type { AdminCaller } from './admin-tokens';
import { issueKeyRequestSchema, issuesQuerySchema, type SyncIssueJson } from './admin-wire';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import { parseBody, parseQuery } from './request-parsing';

export interface AdminIssueRoutesDeps {
  readonly storage: { readonly storage: SyncStorage };
  readonly central: CentralService;
  readonly clock: Clock;
  readonly callerOf: (req: Request) => AdminCaller;
  readonly jsonBody: RequestHandler;
  readonly logger: CentralAppLogger;
}

/** The issue log: list and filter it, acknowledge an issue, retry one. */
export function adminIssueRoutes(deps: AdminIssueRoutesDeps): express.Router {
  const { storage, central, clock, callerOf, jsonBody, logger } = deps;
  const issues = storage.storage.issues;
  const admin = express.Router();

  admin.get('/issues', async (req, res) => {
    const { prefix, after, limit, code, acknowledged } = parseQuery(issuesQuerySchema, req.query);
    const found: readonly SyncIssue[] = await issues.open({
      limit: limit + 1,
      ...(prefix !== undefined ? { prefix } : {}),
      ...(after !== undefined ? { afterKey: after } : {}),
      ...(code !== undefined ? { code } : {}),
      ...(acknowledged !== undefined ? { acknowledged } : {}),
    });
    const page = found.slice(0, limit);
    res.json({ issues: page.map(issueJson), next: found.length > limit ? page[page.length - 1]!.key : null });
  });

  admin.post('/issues/acknowledge', jsonBody, async (req, res) => {
    const { key } = parseBody(issueKeyRequestSchema, req.body);
    const by = callerOf(req).tokenId;
    if (!(await issues.acknowledge(key, clock.now(), by))) throw noSuchIssue(key);
    logger.info({ key, by }, 'issue acknowledged');
    res.json(issueJson((await issues.get(key))!));
  });

  admin.post('/issues/retry', jsonBody, async (req, res) => {
    const { key } = parseBody(issueKeyRequestSchema, req.body);
    const retried = await central.retryIssue(key);
    if (retried.outcome === 'not-found') throw noSuchIssue(key);
    logger.info({ key, outcome: retried.outcome, by: callerOf(req).tokenId }, 'issue retried');
    res.json(retried);
  });

  return admin;
}

/** An issue as the API shows it: the refused record by its identity only (explain gives the rest). */
export function issueJson(issue: SyncIssue): SyncIssueJson {
  const { subject } = issue;
  return {
    key: issue.key,
    violation: { ...issue.violation },
    firstSeenAt: issue.firstSeenAt,
    lastSeenAt: issue.lastSeenAt,
    occurrences: issue.occurrences,
    acknowledgedAt: issue.acknowledgedAt,
    acknowledgedBy: issue.acknowledgedBy,
    retryable: isRetryable(issue),
    siteId: quarantinedSiteOf(issue.key),
    record: subject ? { type: subject.type, id: subject.id, storeId: subject.storeId ?? null, deleted: subject.deleted === true } : null,
  };
}

function noSuchIssue(key: string): SyncHttpError {
  return SyncHttpError.of('not_found', `There is no open issue "${key}": GET /admin/v1/issues lists them (an issue closes when its problem goes away).`);
}
