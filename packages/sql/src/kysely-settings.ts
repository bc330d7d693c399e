import type { PushLedger, PushReceipt, PushResult, SettingsStore, SiteId } from '@sitesync/domain';
import type { Kysely } from 'kysely';
import type { SyncDb } from './schema';
import type { SqlFlavour } from './sql-flavour';

export class KyselyPushLedger implements PushLedger {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  async claim(siteId: SiteId, batchId: string, digest: string, at: Date): Promise<PushReceipt | null> {
    // A concurrent claim of the same id waits here on the primary key until the first commits.
    const inserted = await this.db
      .insertInto('sync_push_batch')
      .values({ site_id: siteId, batch_id: batchId, digest, answer: null, received_at: this.flavour.time(at) })
      .onConflict((oc) => oc.columns(['site_id', 'batch_id']).doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    if (inserted) return null;
    const row = await this.db
      .selectFrom('sync_push_batch')
      .select(['digest', 'answer'])
      .where('site_id', '=', siteId)
      .where('batch_id', '=', batchId)
      .executeTakeFirstOrThrow();
    return { digest: row.digest, answer: row.answer === null ? null : (JSON.parse(row.answer) as PushResult) };
  }

  async settle(siteId: SiteId, batchId: string, answer: PushResult): Promise<void> {
    const result = await this.db
      .updateTable('sync_push_batch')
      .set({ answer: JSON.stringify(answer) })
      .where('site_id', '=', siteId)
      .where('batch_id', '=', batchId)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new Error(`push ledger: batch "${batchId}" of site ${siteId} was never claimed`);
  }
}

export class KyselySettingsStore implements SettingsStore {
  constructor(private readonly db: Kysely<SyncDb>) {}

  async get(key: string): Promise<unknown> {
    const row = await this.db.selectFrom('sync_setting').select('value').where('key', '=', key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as unknown) : null;
  }

  async set(key: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value ?? null);
    await this.db
      .insertInto('sync_setting')
      .values({ key, value: text })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: text }))
      .execute();
  }
}
