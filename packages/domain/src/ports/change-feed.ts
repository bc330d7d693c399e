import type { SyncRecord } from '../record';
import type { ChangeOrigin } from './record-store';

/** A change in the feed. Cursors are 64-bit: bigint everywhere, whatever the engine returns. */
export interface Change extends ChangeOrigin {
  readonly cursor: bigint;
  readonly record: SyncRecord;
}

/**
 * The ordered log of changes, read by consumers (push, each site's pull, transfer processing), each
 * with its own cursor. A reader never misses a change, even one whose transaction committed after
 * a later-numbered change was read.
 */
export interface ChangeFeed {
  /** Changes after `cursor` in cursor order, at most `limit`. */
  read(after: bigint, limit: number): Promise<readonly Change[]>;
  /** The last cursor handed out (0n on an empty feed). */
  head(): Promise<bigint>;
  /** Where a consumer is (0n if it never advanced). */
  cursorOf(consumer: string): Promise<bigint>;
  /** Moves a consumer forward; moving it backwards is refused by throwing. */
  advance(consumer: string, cursor: bigint): Promise<void>;
}
