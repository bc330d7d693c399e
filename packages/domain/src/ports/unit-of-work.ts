import type { ChangeFeed } from './change-feed';
import type { InboundBuffer } from './inbound-buffer';
import type { IssueLog } from './issue-log';
import type { PushLedger } from './push-ledger';
import type { RecordStore } from './record-store';
import type { ResyncQueue } from './resync-queue';
import type { SettingsStore } from './settings-store';
import type { TopologyRepository } from './topology-repository';

/** The storage ports, as one transaction sees them. */
export interface SyncStorage {
  readonly topology: TopologyRepository;
  readonly records: RecordStore;
  readonly changes: ChangeFeed;
  readonly inbound: InboundBuffer;
  readonly issues: IssueLog;
  readonly pushes: PushLedger;
  readonly settings: SettingsStore;
  readonly resync: ResyncQueue;
}

/** Runs work in one transaction: all its writes land, or none do (the work throws). */
export interface UnitOfWork {
  run<T>(work: (storage: SyncStorage) => Promise<T>): Promise<T>;
}
