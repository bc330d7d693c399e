import { INDEXED_DATA_FIELDS, splitNumberSequences } from '@sitesync/sql';
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** Forward-only migrations of the remote site's SQLite file, applied on open. Never edit one that shipped: add the next. */
export const SQLITE_MIGRATIONS: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table sync_record (
          type text not null,
          id text not null,
          store_id text,
          other_party_store_id text,
          patient_id text,
          home_store_id text,
          deleted integer not null default 0,
          data text not null,
          source_site_id integer not null,
          via_sync integer not null,
          seq integer not null,
          primary key (type, id)
        ) without rowid`,
        sql`create unique index sync_record_seq on sync_record (seq)`,
        sql`create table sync_feed_state (id integer primary key, last_seq integer not null)`,
        sql`insert into sync_feed_state (id, last_seq) values (1, 0)`,
        sql`create table sync_consumer (consumer text primary key, cursor text not null)`,
        sql`create table sync_serial (store_id text not null, type text not null, last integer not null, primary key (store_id, type))`,
        sql`create table sync_inbound_batch (batch_id text primary key, source_site_id integer not null, staged_at text not null)`,
        sql`create table sync_inbound (
          seq integer primary key autoincrement,
          batch_id text not null,
          source_site_id integer not null,
          record text not null,
          attempts integer not null default 0,
          last_error text
        )`,
        sql`create table sync_issue (key text primary key, violation text not null, first_seen_at text not null, last_seen_at text not null, occurrences integer not null)`,
        sql`create table sync_site (id integer primary key, doc text not null)`,
        sql`create table sync_store (id text primary key, doc text not null)`,
        sql`create table sync_credential (site_id integer primary key, password_hash text not null)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0002_line_indexes': {
    // Lines are found by their header id (transfers, receipts): one expression index per link field
    // (the field alone: with the type first, SQLite's planner prefers the primary key).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const field of INDEXED_DATA_FIELDS) {
        await sql`create index ${sql.id(`sync_record_data_${field.toLowerCase()}`)} on sync_record (json_extract(data, ${sql.lit(`$.${field}`)}))`.execute(db);
      }
    },
  },
  '0003_push_batches_and_settings': {
    // Push batches are kept per site with their digest and answer; a site's own settings leave the
    // records (the remote used to keep them, credentials included, as a local "preference" record).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table sync_push_batch (
          site_id integer not null,
          batch_id text not null,
          digest text not null,
          answer text,
          received_at text not null,
          primary key (site_id, batch_id)
        )`,
        sql`create table sync_setting (key text primary key, value text not null)`,
        sql`insert into sync_setting (key, value) select 'remote-site', data from sync_record where type = 'preference' and id = 'sitesync.remote-site'`,
        sql`delete from sync_record where type = 'preference' and id = 'sitesync.remote-site'`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0004_resync_queue': {
    // Scope changes (copies, moves, visibility) queue records per site; they are found by their
    // routing columns, so those are indexed (only where set).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table sync_resync (site_id integer not null, type text not null, id text not null, seq integer not null, primary key (site_id, type, id))`,
        sql`create index sync_resync_site_seq on sync_resync (site_id, seq)`,
        sql`create table sync_resync_site (site_id integer primary key, last_seq integer not null)`,
        sql`create table sync_topology_version (id integer primary key, version integer not null)`,
        sql`create index sync_record_store_id on sync_record (store_id) where store_id is not null`,
        sql`create index sync_record_other_party on sync_record (other_party_store_id) where other_party_store_id is not null`,
        sql`create index sync_record_home_store on sync_record (home_store_id) where home_store_id is not null`,
        sql`create index sync_record_patient on sync_record (patient_id) where patient_id is not null`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0005_number_sequence_per_kind': {
    // each kind of document numbered on its own (transaction:supplier_invoice, ...), from the old counter
    up: splitNumberSequences,
  },
  '0006_issue_subject_and_acknowledgement': {
    // issues keep the refused record (an admin may retry it), its code (to filter by) and who acknowledged them
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`alter table sync_issue add column code text`,
        sql`alter table sync_issue add column subject text`,
        sql`alter table sync_issue add column acknowledged_at text`,
        sql`alter table sync_issue add column acknowledged_by text`,
        sql`update sync_issue set code = json_extract(violation, '$.code')`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0007_partial_line_indexes': {
    // The header-id indexes hold only the rows that have the field: a record without it (most of
    // them: items, stock lines, ...) costs no index entry when it is written. findByField's
    // `json_extract(...) = ?` / `in (...)` implies the field is not null, so they are still used.
    async up(db: Kysely<unknown>): Promise<void> {
      for (const field of INDEXED_DATA_FIELDS) {
        const name = `sync_record_data_${field.toLowerCase()}`;
        await sql`drop index if exists ${sql.id(name)}`.execute(db);
        await sql`create index ${sql.id(name)} on sync_record (json_extract(data, ${sql.lit(`$.${field}`)})) where json_extract(data, ${sql.lit(`$.${field}`)}) is not null`.execute(
          db,
        );
      }
    },
  },
};

export const sqliteMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(SQLITE_MIGRATIONS),
};
