import type { ColumnType } from 'kysely';

/**
 * The tables both engines share, as Kysely sees them. Column types are loose where the engines
 * differ (SQLite stores booleans as 0/1, JSON as text, time as ISO text; Postgres has boolean, jsonb,
 * timestamptz); `SqlFlavour` converts both ways, so the repositories are written once.
 */
type Json = ColumnType<unknown, string, string>;
type Bool = ColumnType<boolean | number, boolean | number, boolean | number>;
type Time = ColumnType<Date | string, Date | string, Date | string>;
/** int8: pg returns strings, SQLite numbers; written as bigint/number/string */
type Int8 = ColumnType<string | number | bigint, string | number | bigint, string | number | bigint>;

export interface SyncRecordTable {
  type: string;
  id: string;
  store_id: string | null;
  other_party_store_id: string | null;
  patient_id: string | null;
  home_store_id: string | null;
  deleted: Bool;
  data: Json;
  source_site_id: number;
  via_sync: Bool;
  /** the record's place in the change feed, given when the record is written */
  seq: ColumnType<string | number | bigint | null, string | number | bigint | null | undefined, string | number | bigint | null>;
}

export interface SyncFeedStateTable {
  id: number;
  /** the greatest cursor handed out */
  last_seq: Int8;
}

export interface SyncConsumerTable {
  consumer: string;
  /** decimal text: exact for any 64-bit cursor on every engine */
  cursor: string;
}

export interface SyncSerialTable {
  store_id: string;
  type: string;
  last: number;
}

export interface SyncInboundBatchTable {
  batch_id: string;
  source_site_id: number;
  staged_at: Time;
}

export interface SyncInboundTable {
  /** assigned by the database */
  seq: ColumnType<string | number | bigint, never, never>;
  batch_id: string;
  source_site_id: number;
  record: Json;
  attempts: number;
  last_error: ColumnType<unknown, string | null, string | null>;
}

export interface SyncIssueTable {
  key: string;
  violation: Json;
  first_seen_at: Time;
  last_seen_at: Time;
  occurrences: number;
  /** the violation's code, for filtering (migration 0006 sqlite / 0007 postgres) */
  code: string | null;
  /** the record the issue is about, JSON, or null */
  subject: ColumnType<unknown, string | null, string | null>;
  acknowledged_at: ColumnType<Date | string | null, Date | string | null, Date | string | null>;
  acknowledged_by: string | null;
}

export interface SyncSiteTable {
  id: number;
  doc: Json;
}

export interface SyncStoreTable {
  id: string;
  doc: Json;
}

export interface SyncCredentialTable {
  site_id: number;
  password_hash: string;
}

export interface SyncPushBatchTable {
  site_id: number;
  batch_id: string;
  digest: string;
  /** the answer given, as JSON text (text, not jsonb: an answer may quote a refused id holding \u0000); null until settled */
  answer: string | null;
  received_at: Time;
}

export interface SyncSettingTable {
  key: string;
  /** JSON text */
  value: string;
}

export interface SyncResyncTable {
  site_id: number;
  type: string;
  id: string;
  seq: Int8;
}

export interface SyncResyncSiteTable {
  site_id: number;
  /** the last number handed out in the site's resync queue */
  last_seq: Int8;
}

export interface SyncTopologyVersionTable {
  id: number;
  version: Int8;
}

export interface SyncDb {
  sync_record: SyncRecordTable;
  sync_feed_state: SyncFeedStateTable;
  sync_consumer: SyncConsumerTable;
  sync_serial: SyncSerialTable;
  sync_inbound_batch: SyncInboundBatchTable;
  sync_inbound: SyncInboundTable;
  sync_issue: SyncIssueTable;
  sync_site: SyncSiteTable;
  sync_store: SyncStoreTable;
  sync_credential: SyncCredentialTable;
  sync_push_batch: SyncPushBatchTable;
  sync_setting: SyncSettingTable;
  sync_resync: SyncResyncTable;
  sync_resync_site: SyncResyncSiteTable;
  sync_topology_version: SyncTopologyVersionTable;
}
