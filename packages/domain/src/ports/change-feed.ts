import type { SyncRecord } from '../record';
import type { SiteId } from '../site';
import type { ChangeOrigin } from './record-store';

/** A change in the feed. Cursors are 64-bit: bigint everywhere, whatever the engine returns. */
export interface Change extends ChangeOrigin {
  readonly cursor: bigint;
  readonly record: SyncRecord;
}

/**
 * The ordered feed of changed records, read by consumers (push, each site's pull, transfer
 * processing), each with its own cursor. Every write of a record gives it a new cursor, greater than
 * every cursor a reader has seen; `read` returns each record changed after the cursor once, in its
 * latest version (several writes of one record between two reads arrive as one change). A reader
 * never misses a change, even one whose transaction committed after a later-numbered one was read.
 */
/** A change read to be sent on: its record without data (`data` is `{}`), and the data as JSON text. */
export interface EncodedChange extends Change {
  /** the record's data as a JSON object's text, as the storage keeps it (parsed, it equals `read`'s `data`) */
  readonly dataJson: string;
}

/**
 * Changes of the feed with the same type, routing columns and source site, counted: the routing
 * rules decide them all alike (a null column is one the records were written without).
 */
export interface RoutingCount {
  readonly type: string;
  readonly storeId: string | null;
  readonly otherPartyStoreId: string | null;
  readonly patientId: string | null;
  readonly homeStoreId: string | null;
  readonly sourceSiteId: SiteId;
  readonly count: number;
}

export interface ChangeFeed {
  /** Records changed after `cursor`, each once in its latest version, in cursor order, at most `limit`. */
  read(after: bigint, limit: number): Promise<readonly Change[]>;
  /**
   * Like `read`, but the records come without their data (`data` is `{}`): enough for the routing
   * rules, and much cheaper to count what waits for a site.
   */
  scan(after: bigint, limit: number): Promise<readonly Change[]>;
  /**
   * Like `read`, with each record's data as JSON text instead of an object: what a pull sends on,
   * without parsing the data and encoding it again.
   */
  readEncoded(after: bigint, limit: number): Promise<readonly EncodedChange[]>;
  /**
   * The changes with a cursor in (`after`, `upTo`], counted by type, routing columns and source site
   * (one entry per distinct combination, in no particular order): what waits for a site is counted
   * from these without reading each change.
   */
  countByRouting(after: bigint, upTo: bigint): Promise<readonly RoutingCount[]>;
  /** The greatest cursor a reader can see now (0n on an empty feed). */
  head(): Promise<bigint>;
  /** Where a consumer is (0n if it never advanced). */
  cursorOf(consumer: string): Promise<bigint>;
  /**
   * Where a consumer is, held for the unit of work this is called in: another unit of work claiming
   * the same consumer waits until this one ends, then reads where it left it. So two central
   * processes sharing a database never handle one batch of a consumer twice.
   */
  claim(consumer: string): Promise<bigint>;
  /** Moves a consumer forward; moving it backwards is refused by throwing. */
  advance(consumer: string, cursor: bigint): Promise<void>;
}
