export type { Change, ChangeFeed, EncodedChange, RoutingCount } from './change-feed';
export type { BufferedRecord, InboundBuffer, RecordError } from './inbound-buffer';
export type { IssueLog, IssueQuery, IssueReport, SyncIssue } from './issue-log';
export type { PushLedger, PushReceipt } from './push-ledger';
export type { SettingsStore } from './settings-store';
export type { ChangeOrigin, RecordSelector, RecordStore } from './record-store';
export type { RecordKeyOf, ResyncEntry, ResyncQueue } from './resync-queue';
export type {
  CentralSyncGateway,
  Clock,
  IdGenerator,
  PasswordHasher,
  PullRequest,
  PullResult,
  PushBatch,
  PushConflict,
  PushOutcome,
  PushResult,
  RefusedRecord,
  SiteInfo,
} from './services';
export { isPushConflict, pushConflict } from './services';
export {
  SITE_CONNECTION_FIELDS,
  connectionFieldsOf,
  withoutConnectionFields,
  type SiteConnectionField,
  type SiteConnectionUpdate,
  type TopologyRepository,
} from './topology-repository';
export type { SyncStorage, UnitOfWork } from './unit-of-work';
export { TOKENS } from './tokens';
