import { assertFieldName, createKyselySyncStorage, type KyselySyncStorage, type SqlFlavour, type SyncDb } from '@sitesync/sql';
import { Kysely, Migrator, PostgresDialect, sql, type PostgresPool } from 'kysely';
import { postgresMigrationProvider } from './postgres-migrations';

/** Records numbered per sequencer pass at most; the rest wait for the next read. */
const SEQUENCE_BATCH = 100_000;

/**
 * Postgres: writers in concurrent transactions must not number their records themselves, or a
 * reader could see cursor 11 (committed) before cursor 10 (still in flight) and skip 10 for good.
 * So writes leave `seq` empty, and the *sequencer* numbers records only once they are committed:
 * under a transaction-scoped advisory lock (one sequencer at a time per schema; writers and plain
 * readers never wait for it), it gives every visible unnumbered record the next cursors after the
 * high-water mark, in write order, and commits. Numbers therefore become visible in increasing
 * order and a reader can never skip one. See docs/storage.md.
 */
export const postgresFlavour: SqlFlavour = {
  engine: 'postgres',
  bool: (value) => value,
  time: (value) => value,
  int8: (value) => value.toString(),
  dataField: (field) => sql<string | null>`(data->>${sql.lit(assertFieldName(field))})`,
  issueKeyInCodePointOrder: sql<string>`(key collate "C")`,
  reserveCursors: () => Promise.resolve(null),
  // Writers take ROW EXCLUSIVE, which SHARE excludes; readers (ACCESS SHARE) go on.
  holdRecordWrites: async (trx) => {
    await sql`lock table sync_record in share mode`.execute(trx);
  },
  // One statement per batch, whatever its size: each column travels as one array parameter.
  async writeRecordRows(db, rows) {
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((r) => r[key] ?? null);
    await sql`
      insert into sync_record (type, id, store_id, other_party_store_id, patient_id, home_store_id, deleted, data, source_site_id, via_sync, seq)
      select * from unnest(
        ${column('type')}::text[], ${column('id')}::text[], ${column('store_id')}::text[], ${column('other_party_store_id')}::text[],
        ${column('patient_id')}::text[], ${column('home_store_id')}::text[], ${column('deleted')}::boolean[], ${column('data')}::jsonb[],
        ${column('source_site_id')}::integer[], ${column('via_sync')}::boolean[], ${column('seq')}::bigint[]
      )
      on conflict (type, id) do update set store_id = excluded.store_id, other_party_store_id = excluded.other_party_store_id,
        patient_id = excluded.patient_id, home_store_id = excluded.home_store_id, deleted = excluded.deleted, data = excluded.data,
        source_site_id = excluded.source_site_id, via_sync = excluded.via_sync, seq = excluded.seq
    `.execute(db);
  },
  async sequence(db) {
    const waiting = await sql<{ waiting: boolean }>`select exists (select 1 from sync_record where seq is null) as waiting`.execute(db);
    if (!waiting.rows[0]?.waiting) return;
    const pass = async (trx: Kysely<SyncDb>): Promise<void> => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.sitesync.change-feed'))`.execute(trx);
      await sql`
        with todo as (
          select type, id, row_number() over (order by write_order) as rn
          from sync_record where seq is null order by write_order limit ${SEQUENCE_BATCH}
        ),
        hw as (select last_seq from sync_feed_state where id = 1),
        numbered as (
          update sync_record r set seq = hw.last_seq + todo.rn
          from todo, hw
          where r.type = todo.type and r.id = todo.id and r.seq is null
          returning r.seq
        )
        update sync_feed_state set last_seq = greatest(last_seq, coalesce((select max(seq) from numbered), last_seq)) where id = 1
      `.execute(trx);
    };
    await (db.isTransaction ? pass(db) : db.transaction().execute(pass));
  },
};

export interface PostgresSyncStorage extends KyselySyncStorage {
  readonly db: Kysely<SyncDb>;
  /** Ends the Kysely instance (and so the pool it was given). */
  destroy(): Promise<void>;
}

/**
 * Opens sitesync storage on a Postgres pool (`pg.Pool`, or `pglitePool(pglite)` for the embedded
 * engine), applying pending migrations first. Tables go to the connection's `search_path`.
 */
export async function openPostgresSyncStorage(pool: PostgresPool): Promise<PostgresSyncStorage> {
  const db = new Kysely<SyncDb>({ dialect: new PostgresDialect({ pool }) });
  // Kysely's migration tables go to the connection's own schema (its introspection would otherwise
  // find another schema's tables on the same server and skip creating them here).
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ?? 'public';
  const { error, results } = await new Migrator({ db, provider: postgresMigrationProvider, migrationTableSchema: schema }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Postgres migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { ...createKyselySyncStorage(db, postgresFlavour), db, destroy: () => db.destroy() };
}
