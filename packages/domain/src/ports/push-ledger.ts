import type { SiteId } from '../site';
import type { PushResult } from './services';

/** What the central kept of a push batch it received: the digest of its records and its answer. */
export interface PushReceipt {
  readonly digest: string;
  /** null only inside the unit of work that claimed the batch, before it settled it */
  readonly answer: PushResult | null;
}

/**
 * The push batches the central has received, per site. A batch id belongs to the site that sent
 * it (one site can never claim another's), and is kept with the digest of the batch's records and
 * the answer given, so that a resent batch gets exactly the same answer and a reused id with other
 * records is recognised instead of being taken for a replay.
 */
export interface PushLedger {
  /**
   * Claims `batchId` for `siteId` inside the caller's unit of work: null when it is new (the caller
   * then applies the batch and calls `settle` before the unit of work ends), or the receipt kept for
   * it. Two units of work claiming the same id at once: the second waits for the first and sees its
   * receipt.
   */
  claim(siteId: SiteId, batchId: string, digest: string, at: Date): Promise<PushReceipt | null>;
  /** Keeps the answer given for a claimed batch. */
  settle(siteId: SiteId, batchId: string, answer: PushResult): Promise<void>;
}
