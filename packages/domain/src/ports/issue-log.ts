import type { RuleViolation } from '../result';

/** A problem kept for admins: a refused record, a transfer that could not be completed. */
export interface SyncIssue {
  /** what it is about, e.g. "transaction:inv-1"; one open issue per key */
  readonly key: string;
  readonly violation: RuleViolation;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly occurrences: number;
}

/** Refusals are kept and visible, never dropped: this is where they are kept. */
export interface IssueLog {
  /** Records (or re-records) the open issue for `key`. */
  report(key: string, violation: RuleViolation, at: Date): Promise<void>;
  /** Closes the issue for `key`, if any (the problem went away). */
  resolve(key: string): Promise<void>;
  open(): Promise<readonly SyncIssue[]>;
}
