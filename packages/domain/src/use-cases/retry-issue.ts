import type { SyncIssue } from '../ports/issue-log';
import type { SyncStorage } from '../ports/unit-of-work';
import type { RuleViolation } from '../result';
import type { Topology } from '../topology';
import { quarantineKey, quarantinePrefix, storeAccepted } from './central-push';
import { pushContext, pushRefusal } from './push-checks';

/** What retrying an issue did. */
export const ISSUE_RETRY_OUTCOMES = ['resolved', 'still-refused', 'still-open', 'not-retryable', 'not-found'] as const;
export type IssueRetryOutcome = (typeof ISSUE_RETRY_OUTCOMES)[number];

export interface IssueRetry {
  readonly key: string;
  readonly outcome: IssueRetryOutcome;
  /** why it is still refused or open, or why it cannot be retried */
  readonly violation?: RuleViolation;
}

/** The site a quarantine issue's key names, or null for any other issue. */
export function quarantinedSiteOf(key: string): number | null {
  const match = /^quarantine:(\d+):/.exec(key);
  return match ? Number(match[1]) : null;
}

/**
 * Whether an admin may retry an issue: a refused record the central kept (it is checked again as
 * if its site pushed it now), or a transfer or processing issue (the processors run again). The
 * count of refusals dropped from a full quarantine, and a refusal kept before records were (no
 * subject), cannot be: only the site can send the record again.
 */
export function isRetryable(issue: SyncIssue): boolean {
  if (issue.key.startsWith('quarantine-dropped:')) return false;
  if (quarantinedSiteOf(issue.key) !== null) return issue.subject !== null;
  return true;
}

/** Why an issue cannot be retried, for the answer. */
export function notRetryable(issue: SyncIssue): RuleViolation {
  return {
    code: 'issue.not-retryable',
    rule: 'only a refused record the central kept, or a transfer the central completes, can be retried from the central',
    message: issue.key.startsWith('quarantine-dropped:')
      ? `${issue.key} counts refusals the central no longer keeps: there is no record to retry.`
      : `${issue.key} was kept before the central kept refused records: there is no record to retry.`,
    fix: 'Fix the cause on the site (its status lists its refusals) and let it sync: it sends the record again when it changes it.',
  };
}

/**
 * A refused record checked again against the current topology and the records the central holds,
 * exactly as a push of its site would be now: stored (as from that site) and the issue closed when
 * it passes, the issue's reason updated when it does not. Call inside a unit of work.
 */
export async function retryQuarantined(storage: SyncStorage, topology: Topology, key: string, now: Date): Promise<IssueRetry> {
  const issue = await storage.issues.get(key);
  if (!issue) return { key, outcome: 'not-found' };
  const siteId = quarantinedSiteOf(key);
  if (siteId === null || !isRetryable(issue) || !issue.subject) return { key, outcome: 'not-retryable', violation: notRetryable(issue) };
  const record = issue.subject;
  if (!topology.site(siteId) || quarantineKey(siteId, record) !== key || !key.startsWith(quarantinePrefix(siteId))) {
    const violation: RuleViolation = {
      code: 'issue.site-gone',
      rule: 'a refused record is retried as a push of the site that sent it',
      message: `Site ${siteId}, which sent ${record.type} ${record.id}, is no longer in the topology.`,
      fix: 'Nothing can be retried: close the issue by acknowledging it.',
    };
    return { key, outcome: 'not-retryable', violation };
  }
  const refusal = pushRefusal(topology, siteId, record, await pushContext(storage, topology, [record]));
  if (refusal) {
    await storage.issues.report(key, refusal, now, { count: 0 });
    return { key, outcome: 'still-refused', violation: refusal };
  }
  // the issue row first: a push of the site writes its quarantine rows before the record writes (the
  // feed's lock), so this unit of work takes them in the same order and the two never deadlock
  await storage.issues.resolve(key);
  await storeAccepted(storage, topology, [record], { sourceSiteId: siteId, viaSync: true });
  return { key, outcome: 'resolved' };
}
