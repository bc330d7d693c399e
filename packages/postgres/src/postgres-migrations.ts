import { INDEXED_DATA_FIELDS, splitNumberSequences } from '@sitesync/sql';
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** Forward-only migrations of the central's Postgres schema (server or PGlite), applied on open. */
export const POSTGRES_MIGRATIONS: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create sequence sync_write_order`,
        sql`create table sync_record (
          type text not null,
          id text not null,
          store_id text,
          other_party_store_id text,
          patient_id text,
          home_store_id text,
          deleted boolean not null default false,
          data jsonb not null,
          source_site_id integer not null,
          via_sync boolean not null,
          write_order bigint not null default nextval('sync_write_order'),
          seq bigint,
          primary key (type, id)
        )`,
        sql`create unique index sync_record_seq on sync_record (seq) where seq is not null`,
        sql`create index sync_record_unsequenced on sync_record (write_order) where seq is null`,
        // A rewritten record goes to the end of the write order, so the feed keeps write order.
        sql`create function sync_record_rewritten() returns trigger language plpgsql as $$
          begin
            if new.seq is null then new.write_order := nextval('sync_write_order'); end if;
            return new;
          end $$`,
        sql`create trigger sync_record_rewritten before update on sync_record for each row execute function sync_record_rewritten()`,
        sql`create table sync_feed_state (id integer primary key, last_seq bigint not null)`,
        sql`insert into sync_feed_state (id, last_seq) values (1, 0)`,
        sql`create table sync_consumer (consumer text primary key, cursor text not null)`,
        sql`create table sync_serial (store_id text not null, type text not null, last integer not null, primary key (store_id, type))`,
        sql`create table sync_inbound_batch (batch_id text primary key, source_site_id integer not null, staged_at timestamptz not null)`,
        sql`create table sync_inbound (
          seq bigint generated always as identity primary key,
          batch_id text not null,
          source_site_id integer not null,
          record jsonb not null,
          attempts integer not null default 0,
          last_error jsonb
        )`,
        sql`create table sync_issue (key text primary key, violation jsonb not null, first_seen_at timestamptz not null, last_seen_at timestamptz not null, occurrences integer not null)`,
        sql`create table sync_site (id integer primary key, doc jsonb not null)`,
        sql`create table sync_store (id text primary key, doc jsonb not null)`,
        sql`create table sync_credential (site_id integer primary key, password_hash text not null)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0002_line_indexes': {
    // Lines are found by their header id (transfers, receipts): one expression index per link field.
    async up(db: Kysely<unknown>): Promise<void> {
      for (const field of INDEXED_DATA_FIELDS) {
        await sql`create index ${sql.id(`sync_record_data_${field.toLowerCase()}`)} on sync_record (type, (data->>${sql.lit(field)}))`.execute(db);
      }
    },
  },
  '0003_push_batches_and_settings': {
    // Push batches are kept per site with their digest and answer (text: an answer may quote an id holding \u0000).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table sync_push_batch (
          site_id integer not null,
          batch_id text not null,
          digest text not null,
          answer text,
          received_at timestamptz not null,
          primary key (site_id, batch_id)
        )`,
        sql`create table sync_setting (key text primary key, value text not null)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0004_issue_key_prefix_index': {
    // Issues are found by key prefix (a site's refusals, transfer issues) on every push: a range in
    // code-point order, which this index serves whatever the database's collation.
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create index sync_issue_key_c on sync_issue (key collate "C")`.execute(db);
    },
  },
  '0005_resync_queue': {
    // Scope changes (copies, moves, visibility) queue records per site; they are found by their
    // routing columns, so those are indexed (only where set).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table sync_resync (site_id integer not null, type text not null, id text not null, seq bigint not null, primary key (site_id, type, id))`,
        sql`create index sync_resync_site_seq on sync_resync (site_id, seq)`,
        sql`create table sync_resync_site (site_id integer primary key, last_seq bigint not null)`,
        sql`create table sync_topology_version (id integer primary key, version bigint not null)`,
        sql`create index sync_record_store_id on sync_record (store_id) where store_id is not null`,
        sql`create index sync_record_other_party on sync_record (other_party_store_id) where other_party_store_id is not null`,
        sql`create index sync_record_home_store on sync_record (home_store_id) where home_store_id is not null`,
        sql`create index sync_record_patient on sync_record (patient_id) where patient_id is not null`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0006_number_sequence_per_kind': {
    // each kind of document numbered on its own (transaction:supplier_invoice, ...), from the old counter
    up: splitNumberSequences,
  },
  '0007_issue_subject_and_acknowledgement': {
    // issues keep the refused record (an admin may retry it), its code (to filter by) and who acknowledged them
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`alter table sync_issue add column code text`,
        sql`alter table sync_issue add column subject jsonb`,
        sql`alter table sync_issue add column acknowledged_at timestamptz`,
        sql`alter table sync_issue add column acknowledged_by text`,
        sql`update sync_issue set code = violation->>'code'`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0008_partial_line_indexes': {
    // The header-id indexes hold only rows that have that field: a record without it (most records,
    // and every header) costs no index entry on write. `findByField` compares the field with `=` or
    // `in`, which implies `is not null`, so Postgres still uses them.
    async up(db: Kysely<unknown>): Promise<void> {
      for (const field of INDEXED_DATA_FIELDS) {
        const name = `sync_record_data_${field.toLowerCase()}`;
        await sql`drop index ${sql.id(name)}`.execute(db);
        await sql`create index ${sql.id(name)} on sync_record (type, (data->>${sql.lit(field)})) where data->>${sql.lit(field)} is not null`.execute(db);
      }
    },
  },
  '0009_cursor_on_write': {
    // Records are numbered when written (under the feed's row lock, held to commit), no longer by a
    // sequencer after commit: the records still waiting are numbered now, in write order, and every
    // record has a cursor from here on; the sequencer's index and trigger go.
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`lock table sync_record in share row exclusive mode`,
        sql`with todo as (
          select type, id, row_number() over (order by write_order) as rn from sync_record where seq is null
        ),
        hw as (select last_seq from sync_feed_state where id = 1),
        numbered as (
          update sync_record r set seq = hw.last_seq + todo.rn from todo, hw where r.type = todo.type and r.id = todo.id returning r.seq
        )
        update sync_feed_state set last_seq = greatest(last_seq, coalesce((select max(seq) from numbered), last_seq)) where id = 1`,
        sql`drop trigger sync_record_rewritten on sync_record`,
        sql`drop function sync_record_rewritten()`,
        sql`drop index sync_record_unsequenced`,
        sql`alter table sync_record alter column seq set not null`,
      ]) {
        await statement.execute(db);
      }
    },
  },
};

export const postgresMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(POSTGRES_MIGRATIONS),
};
