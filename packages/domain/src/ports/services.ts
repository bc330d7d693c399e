import type { SyncRecord } from '../record';
import type { SiteId } from '../site';
import type { StoreId } from '../store';
import type { TopologyInput } from '../topology';
import type { SyncType } from '../vocabulary';
import type { RuleViolation } from '../result';
import type { RecordError } from './inbound-buffer';
import type { RecordKeyOf } from './resync-queue';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** a new unique record id */
  next(): string;
}

/** Salted slow hashing of site passwords (the central never stores them in clear). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** constant-time comparison */
  verify(password: string, hash: string): Promise<boolean>;
}

export interface SiteInfo {
  readonly siteId: SiteId;
  readonly stores: readonly { readonly storeId: StoreId; readonly syncType: SyncType }[];
  readonly omsCentralUrl: string | null;
  /** the central holds something of this site's past (it pushed, pulled or synced): a new data file of it is a re-initialisation */
  readonly syncedBefore?: boolean;
  /** the whole topology, without credentials, hardware ids or login counters: remotes apply the same rules */
  readonly topology?: TopologyInput;
  /**
   * An opaque version of `topology` as this site is told it: the site sends it back with its next
   * request for site info (`CentralSyncGateway.siteInfo`), and the central leaves `topology` out
   * while it is the same.
   */
  readonly topologyVersion?: string;
}

export interface RefusedRecord extends RecordError {
  readonly recordType: string;
  readonly recordId: string;
}

export interface PushResult {
  readonly batchId: string;
  /** true when this batch had been received before: nothing was written again, and the counts are the first answer's */
  readonly replayed?: boolean;
  readonly accepted: number;
  /** records refused by the ownership rules; the central keeps them in quarantine */
  readonly refused: readonly RefusedRecord[];
}

/** The central's answer to a batch id this site used before for other records: nothing was written. */
export interface PushConflict {
  readonly batchId: string;
  readonly conflict: RuleViolation<'push.batch-id-reused'>;
}

/** What a push gets: the batch's result, or a conflict on its id (an expected outcome, not a failure). */
export type PushOutcome = PushResult | PushConflict;

export function isPushConflict(outcome: PushOutcome): outcome is PushConflict {
  return 'conflict' in outcome;
}

/** The conflict answer for a batch id used before with other records (`message` says which batch and site). */
export function pushConflict(batchId: string, message: string): PushConflict {
  return {
    batchId,
    conflict: {
      code: 'push.batch-id-reused',
      rule: 'a batch id names one batch of records of its site',
      message,
      fix: 'Send these records under a new batch id. (A remote does this itself: it happens after a data file was restored from a backup or copied.)',
    },
  };
}

/** A push batch as the central receives it: `digest` identifies its records (the adapter hashes them; the domain does no hashing). */
export interface PushBatch {
  /** unique within the pushing site: the remote makes it from its data file's id and the batch's place in its feed */
  readonly id: string;
  readonly digest: string;
  readonly records: readonly SyncRecord[];
}

/** What a site asks the central for: its place in the feed and in its resync queue. */
export interface PullRequest {
  /** the last change of the central's feed this site applied */
  readonly cursor: bigint;
  readonly limit: number;
  /**
   * the last entry of this site's resync queue it applied (absent: an older client, which is
   * served the feed only); sending it acknowledges every entry up to it
   */
  readonly queueCursor?: bigint;
  /**
   * true while a site starting from an empty data file makes its first pass over the feed: the
   * central then also sends the records this site wrote itself (it is their backup)
   */
  readonly reinitialising?: boolean;
  /** how many of its own changes the site had not pushed when it started pulling (a store move off it waits for 0) */
  readonly unpushed?: number;
}

export interface PullResult {
  readonly records: readonly SyncRecord[];
  readonly nextCursor: bigint;
  /** how many more records wait for this site after these (feed and resync queue) */
  readonly remaining: number;
  /** records this site must no longer hold (its scope narrowed): it deletes them, unless it owns them */
  readonly drops?: readonly RecordKeyOf[];
  /** where this site now stands in its resync queue (absent when it sent no queue cursor) */
  readonly nextQueueCursor?: bigint;
}

/** The remote site's view of the central. Network failures throw. */
export interface CentralSyncGateway {
  /** `topologyVersion`: the version of the topology this site holds (the central then sends `topology` only if it changed) */
  siteInfo(options?: { readonly topologyVersion?: string }): Promise<SiteInfo>;
  /** `more`: this site has more changes to push in this cycle (the central may process them with the last batch) */
  push(batchId: string, records: readonly SyncRecord[], options?: { readonly more?: boolean }): Promise<PushOutcome>;
  pull(cursor: bigint, limit: number, options?: Pick<PullRequest, 'queueCursor' | 'reinitialising' | 'unpushed'>): Promise<PullResult>;
  /**
   * Resolves once the requests made so far have left (over HTTP: after a turn of the event loop, in
   * which a request just made is written out). A remote awaits it after asking for its next page,
   * before it applies the page it has, so that the request travels while the page is applied (a
   * synchronous database would otherwise hold it until then). Absent: requests leave at once.
   */
  dispatched?(): Promise<void>;
}
