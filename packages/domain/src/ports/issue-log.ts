import type { SyncRecord } from '../record';
import type { RuleViolation } from '../result';

/** A problem kept for admins: a refused record, a transfer that could not be completed. */
export interface SyncIssue {
  /** what it is about, e.g. "transaction:inv-1"; one open issue per key */
  readonly key: string;
  readonly violation: RuleViolation;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly occurrences: number;
  /** the record the issue is about as it was last refused (kept so that an admin can retry it), or null */
  readonly subject: SyncRecord | null;
  /** when an admin acknowledged it (it stays open until the problem goes away), or null */
  readonly acknowledgedAt: Date | null;
  /** who acknowledged it (an admin token id), or null */
  readonly acknowledgedBy: string | null;
}

/** How an issue is reported: `count` occurrences at once (default 1), and the record it is about. */
export interface IssueReport {
  readonly count?: number;
  readonly subject?: SyncRecord;
}

/** Which open issues to list: those whose key starts with `prefix`, after `afterKey`, at most `limit`. */
export interface IssueQuery {
  readonly prefix?: string;
  readonly afterKey?: string;
  readonly limit?: number;
  /** only issues of this violation code */
  readonly code?: string;
  /** only acknowledged (true) or unacknowledged (false) issues */
  readonly acknowledged?: boolean;
}

/** Refusals are kept and visible, never dropped silently: this is where they are kept. */
export interface IssueLog {
  /**
   * Records (or re-records) the open issue for `key`: the violation and subject replace the kept
   * ones, occurrences add up, an acknowledgement stays.
   */
  report(key: string, violation: RuleViolation, at: Date, options?: IssueReport): Promise<void>;
  /** Marks the open issue for `key` acknowledged; false when there is none. */
  acknowledge(key: string, at: Date, by: string): Promise<boolean>;
  /** The open issue for `key`, or null. */
  get(key: string): Promise<SyncIssue | null>;
  /** Closes the issue for `key`, if any (the problem went away). */
  resolve(key: string): Promise<void>;
  /** Closes the issues of these keys that are open, in a few statements. */
  resolveMany(keys: readonly string[]): Promise<void>;
  /** Open issues in key order; all of them without a query (small logs only: pass a prefix and a limit). */
  open(query?: IssueQuery): Promise<readonly SyncIssue[]>;
  /**
   * Keeps at most `keep` open issues whose key starts with `prefix`: the least recently seen beyond
   * that are closed. Returns how many were closed (the caller records that they were).
   */
  trim(prefix: string, keep: number): Promise<number>;
}
