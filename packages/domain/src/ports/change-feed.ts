import type { SyncRecord } from '../record';
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
export interface ChangeFeed {
  /** Records changed after `cursor`, each once in its latest version, in cursor order, at most `limit`. */
  read(after: bigint, limit: number): Promise<readonly Change[]>;
  /**
   * Like `read`, but the records come without their data (`data` is `{}`): enough for the routing
   * rules, and much cheaper to count what waits for a site.
   */
  scan(after: bigint, limit: number): Promise<readonly Change[]>;
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
