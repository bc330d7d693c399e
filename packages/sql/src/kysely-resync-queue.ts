import type { RecordKeyOf, ResyncEntry, ResyncQueue, SiteId } from '@sitesync/domain';
import { sql, type Kysely } from 'kysely';
import { atomically, chunks } from './kysely-helpers';
import type { SyncDb } from './schema';
import { parseInt8, type SqlFlavour } from './sql-flavour';

const seqText = sql<string>`cast(seq as text)`.as('seq_text');

/**
 * Each site's resync queue in `sync_resync`, numbered from the site's counter row in
 * `sync_resync_site`: taking numbers locks that row until commit, so the units of work writing one
 * site's queue take turns and numbers become visible in increasing order (a reader never skips one).
 */
export class KyselyResyncQueue implements ResyncQueue {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  enqueue(siteId: SiteId, keys: readonly RecordKeyOf[]): Promise<void> {
    const unique = new Map<string, RecordKeyOf>();
    for (const k of keys) {
      const key = `${k.type}\u0000${k.id}`;
      unique.delete(key);
      unique.set(key, k);
    }
    if (unique.size === 0) return Promise.resolve();
    const n = unique.size;
    return atomically(this.db, async (db) => {
      const row = await db
        .insertInto('sync_resync_site')
        .values({ site_id: siteId, last_seq: this.flavour.int8(BigInt(n)) })
        .onConflict((oc) => oc.column('site_id').doUpdateSet({ last_seq: sql`sync_resync_site.last_seq + ${this.flavour.int8(BigInt(n))}` }))
        .returning(sql<string>`cast(last_seq as text)`.as('last'))
        .executeTakeFirstOrThrow();
      let seq = parseInt8(row.last) - BigInt(n);
      for (const part of chunks([...unique.values()])) {
        await db
          .insertInto('sync_resync')
          .values(part.map((k) => ({ site_id: siteId, type: k.type, id: k.id, seq: this.flavour.int8((seq += 1n)) })))
          .onConflict((oc) => oc.columns(['site_id', 'type', 'id']).doUpdateSet((eb) => ({ seq: eb.ref('excluded.seq') })))
          .execute();
      }
    });
  }

  async read(siteId: SiteId, after: bigint, limit: number): Promise<readonly ResyncEntry[]> {
    const rows = await this.db
      .selectFrom('sync_resync')
      .select(['type', 'id', seqText])
      .where('site_id', '=', siteId)
      .where('seq', '>', this.flavour.int8(after))
      .orderBy('seq')
      .limit(Math.max(0, Math.floor(limit)))
      .execute();
    return rows.map((r) => ({ seq: parseInt8(r.seq_text), type: r.type, id: r.id }));
  }

  async count(siteId: SiteId, after: bigint): Promise<number> {
    const row = await this.db
      .selectFrom('sync_resync')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('site_id', '=', siteId)
      .where('seq', '>', this.flavour.int8(after))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async acknowledge(siteId: SiteId, upTo: bigint): Promise<void> {
    if (upTo <= 0n) return;
    await this.db.deleteFrom('sync_resync').where('site_id', '=', siteId).where('seq', '<=', this.flavour.int8(upTo)).execute();
  }

  async pendingBySite(): Promise<ReadonlyMap<SiteId, number>> {
    const rows = await this.db
      .selectFrom('sync_resync')
      .select(['site_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('site_id')
      .execute();
    return new Map(rows.map((r) => [r.site_id, Number(r.n)]));
  }
}
