import type { SyncRecord } from '../record';
import type { SiteId } from '../site';

export interface RecordError {
  readonly code: string;
  readonly message: string;
  readonly fix?: string;
}

/** A record received by sync, waiting to be applied or kept with its error. */
export interface BufferedRecord {
  readonly seq: bigint;
  readonly batchId: string;
  readonly sourceSiteId: SiteId;
  readonly record: SyncRecord;
  readonly attempts: number;
  readonly lastError: RecordError | null;
}

/**
 * Received records, kept until applied. A record that fails keeps its error and is tried again on
 * the next cycle; it is never marked done silently, and failures can be listed for status.
 */
export interface InboundBuffer {
  /** Stages a batch; a batch id already staged stages nothing again (`duplicate: true`). */
  stage(batchId: string, sourceSiteId: SiteId, records: readonly SyncRecord[]): Promise<{ readonly staged: number; readonly duplicate: boolean }>;
  /** Records not yet applied (new and failed ones), oldest first. */
  pending(limit: number): Promise<readonly BufferedRecord[]>;
  markApplied(seqs: readonly bigint[]): Promise<void>;
  markFailed(seq: bigint, error: RecordError): Promise<void>;
  /** Records whose last attempt failed, with their errors. */
  failures(): Promise<readonly BufferedRecord[]>;
}
