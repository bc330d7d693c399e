import type { SyncRecord } from '../record';
import type { SiteId } from '../site';

/** A record's identity. */
export type RecordKeyOf = Pick<SyncRecord, 'type' | 'id'>;

/** A record queued for a site to be looked at again, with its place in that site's queue. */
export interface ResyncEntry {
  readonly seq: bigint;
  readonly type: string;
  readonly id: string;
}

/**
 * Per site, the records whose routing to that site changed when its scope changed (a copy added or
 * narrowed, a store moved, a dispensary store activated, a patient made visible): the central's pull
 * serves them before the change feed, each decided again by the rules on the central's state at that
 * moment (sent if the site must hold it, dropped from the site if it must not and does not own it).
 *
 * Each site's entries are numbered 1, 2, ... in the order their units of work commit (writers of one
 * site take turns), so a reader that saw entry n has seen every entry before it. A record queued
 * again for the same site moves to the end. The site acknowledges what it applied by sending its
 * queue cursor back; acknowledged entries are forgotten.
 */
export interface ResyncQueue {
  /** Queues these records for the site (each once; one already queued moves to the end). */
  enqueue(siteId: SiteId, keys: readonly RecordKeyOf[]): Promise<void>;
  /** The site's entries after `after`, in queue order, at most `limit`. */
  read(siteId: SiteId, after: bigint, limit: number): Promise<readonly ResyncEntry[]>;
  /** How many of the site's entries come after `after`. */
  count(siteId: SiteId, after: bigint): Promise<number>;
  /** Forgets the site's entries up to `upTo` (the site applied them). */
  acknowledge(siteId: SiteId, upTo: bigint): Promise<void>;
  /** The entries not yet acknowledged, per site that has any. */
  pendingBySite(): Promise<ReadonlyMap<SiteId, number>>;
}
