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

/** Which open issues to list: those whose key starts with `prefix`, after `afterKey`, at most `limit`. */
export interface IssueQuery {
  readonly prefix?: string;
  readonly afterKey?: string;
  readonly limit?: number;
}

/** Refusals are kept and visible, never dropped silently: this is where they are kept. */
export interface IssueLog {
  /** Records (or re-records) the open issue for `key`; `count` occurrences at once (default 1). */
  report(key: string, violation: RuleViolation, at: Date, count?: number): Promise<void>;
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
