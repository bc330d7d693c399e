import type { SyncRecord } from '../record';
import type { SiteId } from '../site';
import type { StoreId } from '../store';
import type { TopologyInput } from '../topology';
import type { SyncType } from '../vocabulary';
import type { RecordError } from './inbound-buffer';

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
  /** the whole topology, without credentials, hardware ids or login counters: remotes apply the same rules */
  readonly topology?: TopologyInput;
}

export interface RefusedRecord extends RecordError {
  readonly recordType: string;
  readonly recordId: string;
}

export interface PushResult {
  readonly batchId: string;
  /** true when this batch id had been received before: nothing was written again */
  readonly replayed?: boolean;
  readonly accepted: number;
  /** records refused by the ownership rules; the central keeps them in quarantine */
  readonly refused: readonly RefusedRecord[];
}

export interface PullResult {
  readonly records: readonly SyncRecord[];
  readonly nextCursor: bigint;
  /** how many more records wait for this site after these */
  readonly remaining: number;
}

/** The remote site's view of the central. Network failures throw. */
export interface CentralSyncGateway {
  siteInfo(): Promise<SiteInfo>;
  push(batchId: string, records: readonly SyncRecord[]): Promise<PushResult>;
  pull(cursor: bigint, limit: number): Promise<PullResult>;
}
