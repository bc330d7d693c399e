export type { Change, ChangeFeed } from './change-feed';
export type { BufferedRecord, InboundBuffer, RecordError } from './inbound-buffer';
export type { IssueLog, SyncIssue } from './issue-log';
export type { ChangeOrigin, RecordStore } from './record-store';
export type { CentralSyncGateway, Clock, IdGenerator, PasswordHasher, PullResult, PushResult, RefusedRecord, SiteInfo } from './services';
export type { TopologyRepository } from './topology-repository';
export type { SyncStorage, UnitOfWork } from './unit-of-work';
export { TOKENS } from './tokens';
