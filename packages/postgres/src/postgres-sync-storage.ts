import { assertFieldName, createKyselySyncStorage, type KyselySyncStorage, type SqlFlavour, type SyncDb } from '@sitesync/sql';
import { Kysely, Migrator, PostgresDialect, sql, type PostgresPool } from 'kysely';
import { postgresMigrationProvider } from './postgres-migrations';

/**
 * The change feed's lock, which a unit of work holds from its first record write (or record lock)
 * to its commit: `sync_record` in ROW EXCLUSIVE mode first (so a unit of work that holds writes,
 * `holdRecordWrites`, is waited for before the feed's lock is taken, never while it is held), then
 * the row of `sync_feed_state`. Outside a transaction there is nothing to hold.
 */
async function holdFeed(trx: Kysely<SyncDb>): Promise<void> {
  if (!trx.isTransaction) return;
  await sql`lock table sync_record in row exclusive mode`.execute(trx);
  await sql`select 1 from sync_feed_state where id = 1 for update`.execute(trx);
}

/**
 * Postgres: concurrent writers must not take cursors from a sequence, or a reader could see cursor
 * 11 (committed) before cursor 10 (still in flight) and skip 10 for good. So a writer takes its
 * cursors from the high-water mark in `sync_feed_state`, whose row it then holds locked until it
 * commits (as SQLite's one writer does): units of work that write records take turns from their
 * first record write to their commit, cursors become visible in increasing order, and a reader can
 * never skip one. Each record row is written once, with its cursor (no second write to number it).
 * Every unit of work takes the feed's lock before it locks record rows (`beforeRecordLocks`), so two
 * never wait on each other. (Until migration 0009 a sequencer numbered records after commit, with a
 * second write of each row.) See docs/storage.md.
 */
export const postgresFlavour: SqlFlavour = {
  engine: 'postgres',
  bool: (value) => value,
  time: (value) => value,
  int8: (value) => value.toString(),
  dataField: (field) => sql<string | null>`(data->>${sql.lit(assertFieldName(field))})`,
  issueKeyInCodePointOrder: sql<string>`(key collate "C")`,
  // after beforeRecordLocks: the feed's row is already this unit of work's
  async reserveCursors(trx, count) {
    const { rows } = await sql<{ last: string }>`
      update sync_feed_state set last_seq = last_seq + ${count} where id = 1 returning cast(last_seq as text) as last
    `.execute(trx);
    if (!rows[0]) throw new Error('sync_feed_state has no row: the schema was not migrated');
    return BigInt(rows[0].last) - BigInt(count) + 1n;
  },
  beforeRecordLocks: holdFeed,
  // Writers take ROW EXCLUSIVE, which SHARE excludes; readers (ACCESS SHARE) go on.
  holdRecordWrites: async (trx) => {
    await sql`lock table sync_record in share mode`.execute(trx);
  },
  // One statement per batch, whatever its size: each column travels as one array parameter, except
  // the data, which travels as one JSON array (its elements' text joined, not escaped once more as
  // array elements: about 40% less time than a jsonb[] parameter), zipped with the rest by position.
  async writeRecordRows(db, rows) {
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((r) => r[key] ?? null);
    const data = `[${rows.map((r) => r.data).join(',')}]`;
    await sql`
      insert into sync_record (type, id, store_id, other_party_store_id, patient_id, home_store_id, deleted, data, source_site_id, via_sync, seq)
      select * from rows from (
        unnest(${column('type')}::text[]), unnest(${column('id')}::text[]), unnest(${column('store_id')}::text[]),
        unnest(${column('other_party_store_id')}::text[]), unnest(${column('patient_id')}::text[]), unnest(${column('home_store_id')}::text[]),
        unnest(${column('deleted')}::boolean[]), jsonb_array_elements(${data}::jsonb), unnest(${column('source_site_id')}::integer[]),
        unnest(${column('via_sync')}::boolean[]), unnest(${column('seq')}::bigint[])
      )
      on conflict (type, id) do update set store_id = excluded.store_id, other_party_store_id = excluded.other_party_store_id,
        patient_id = excluded.patient_id, home_store_id = excluded.home_store_id, deleted = excluded.deleted, data = excluded.data,
        source_site_id = excluded.source_site_id, via_sync = excluded.via_sync, seq = excluded.seq
    `.execute(db);
  },
  // every record has its cursor from its write (migration 0009 numbered those written before)
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
