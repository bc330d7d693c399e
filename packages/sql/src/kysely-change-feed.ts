import { type Change, type ChangeFeed, type EncodedChange, type RoutingCount } from '@sitesync/domain';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { atomically, int8Text } from './kysely-helpers';
import type { SyncDb } from './schema';
import { parseBool, parseInt8, type SqlFlavour } from './sql-flavour';
import { RECORD_COLUMNS, recordFromRow, type RecordRow } from './kysely-record-store';

export class KyselyChangeFeed implements ChangeFeed {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  read(after: bigint, limit: number): Promise<readonly Change[]> {
    return this.changesAfter(after, limit, sql`data`, (row) => ({ record: recordFromRow(row) }));
  }

  scan(after: bigint, limit: number): Promise<readonly Change[]> {
    return this.changesAfter(after, limit, sql`null`, (row) => ({ record: recordFromRow(row, {}) }));
  }

  /** The data as text (Postgres: jsonb's text output; SQLite keeps text), not parsed here. */
  readEncoded(after: bigint, limit: number): Promise<readonly EncodedChange[]> {
    return this.changesAfter(after, limit, sql`cast(data as text)`, (row) => ({ record: recordFromRow(row, {}), dataJson: row.data as string }));
  }

  /** Records with a cursor after `after`, in cursor order, with `data` as the expression gives it (the column, its text, or null). */
  private async changesAfter<C extends Change>(
    after: bigint,
    limit: number,
    data: RawBuilder<unknown>,
    change: (row: Omit<RecordRow, 'data'> & { readonly data: unknown }) => Omit<C, 'cursor' | 'sourceSiteId' | 'viaSync'>,
  ): Promise<readonly C[]> {
    const rows = await this.db
      .selectFrom('sync_record')
      .select([...RECORD_COLUMNS.filter((c) => c !== 'data'), data.as('data'), 'source_site_id', 'via_sync', int8Text])
      .where('seq', '>', this.flavour.int8(after))
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ cursor: parseInt8(row.seq_text), sourceSiteId: row.source_site_id, viaSync: parseBool(row.via_sync), ...change(row) }) as C);
  }

  async countByRouting(after: bigint, upTo: bigint): Promise<readonly RoutingCount[]> {
    if (upTo <= after) return [];
    const columns = ['type', 'store_id', 'other_party_store_id', 'patient_id', 'home_store_id', 'source_site_id'] as const;
    const rows = await this.db
      .selectFrom('sync_record')
      .select([...columns, sql<string | number>`count(*)`.as('n')])
      .where('seq', '>', this.flavour.int8(after))
      .where('seq', '<=', this.flavour.int8(upTo))
      .groupBy([...columns])
      .execute();
    return rows.map((row) => ({
      type: row.type,
      storeId: row.store_id,
      otherPartyStoreId: row.other_party_store_id,
      patientId: row.patient_id,
      homeStoreId: row.home_store_id,
      sourceSiteId: row.source_site_id,
      count: Number(row.n),
    }));
  }

  async head(): Promise<bigint> {
    const row = await this.db
      .selectFrom('sync_feed_state')
      .select(sql<string>`cast(last_seq as text)`.as('last'))
      .where('id', '=', 1)
      .executeTakeFirst();
    return row ? parseInt8(row.last) : 0n;
  }

  async cursorOf(consumer: string): Promise<bigint> {
    const row = await this.db.selectFrom('sync_consumer').select('cursor').where('consumer', '=', consumer).executeTakeFirst();
    return row ? parseInt8(row.cursor) : 0n;
  }

  /** Postgres: the consumer's row `for update` (made first if the consumer never advanced); SQLite has one writer at a time. */
  async claim(consumer: string): Promise<bigint> {
    if (this.flavour.engine !== 'postgres') return this.cursorOf(consumer);
    if (!this.db.isTransaction) throw new Error('ChangeFeed.claim: call it inside a unit of work');
    await this.db
      .insertInto('sync_consumer')
      .values({ consumer, cursor: '0' })
      .onConflict((oc) => oc.column('consumer').doNothing())
      .execute();
    const row = await this.db.selectFrom('sync_consumer').select('cursor').where('consumer', '=', consumer).forUpdate().executeTakeFirstOrThrow();
    return parseInt8(row.cursor);
  }

  advance(consumer: string, cursor: bigint): Promise<void> {
    return atomically(this.db, async (db) => {
      const row = await db.selectFrom('sync_consumer').select('cursor').where('consumer', '=', consumer).executeTakeFirst();
      const current = row ? parseInt8(row.cursor) : 0n;
      if (cursor < current) throw new Error(`change feed consumer "${consumer}" is at ${current}: it cannot move back to ${cursor}`);
      await db
        .insertInto('sync_consumer')
        .values({ consumer, cursor: cursor.toString() })
        .onConflict((oc) => oc.column('consumer').doUpdateSet({ cursor: cursor.toString() }))
        .execute();
    });
  }
}
