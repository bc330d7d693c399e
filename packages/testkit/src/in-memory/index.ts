export {
  createInMemoryState,
  createInMemoryStorage,
  InMemoryChangeFeed,
  InMemoryInboundBuffer,
  InMemoryIssueLog,
  InMemoryTopologyRepository,
  type InMemoryState,
  type InMemoryStorage,
} from './in-memory-storage';
export { InMemoryPushLedger, InMemorySettingsStore } from './in-memory-settings';
export { InMemoryResyncQueue } from './in-memory-resync-queue';
export { InMemoryRecordStore } from './in-memory-record-store';
export { ManualClock, PlainTestPasswordHasher, SequentialIdGenerator } from './services';
export { InMemoryCentralSyncGateway, type InMemoryCentral, type InMemoryCentralSyncGatewayOptions } from './in-memory-central-sync-gateway';
