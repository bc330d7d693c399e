import type { BufferedRecord, InboundBuffer, RecordError, SiteId, SyncRecord } from '@sitesync/domain';
import { sql, type Kysely } from 'kysely';
import { atomically, chunks, int8Text } from './kysely-helpers';
import type { SyncDb } from './schema';
import { parseInt8, parseJson, type SqlFlavour } from './sql-flavour';

export class KyselyInboundBuffer implements InboundBuffer {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  stage(batchId: string, sourceSiteId: SiteId, records: readonly SyncRecord[]): Promise<{ readonly staged: number; readonly duplicate: boolean }> {
    return atomically(this.db, async (db) => {
      const inserted = await db
        .insertInto('sync_inbound_batch')
        .values({ batch_id: batchId, source_site_id: sourceSiteId, staged_at: this.flavour.time(new Date()) })
        .onConflict((oc) => oc.column('batch_id').doNothing())
        .returning('batch_id')
        .executeTakeFirst();
      if (!inserted) return { staged: 0, duplicate: true };
      for (const part of chunks(records)) {
        await db
          .insertInto('sync_inbound')
          .values(part.map((record) => ({ batch_id: batchId, source_site_id: sourceSiteId, record: JSON.stringify(record), attempts: 0, last_error: null })))
          .execute();
      }
      return { staged: records.length, duplicate: false };
    });
  }

  async pending(limit: number): Promise<readonly BufferedRecord[]> {
    const rows = await this.selectBuffered().orderBy('seq').limit(limit).execute();
    return rows.map(bufferedFromRow);
  }

  async markApplied(seqs: readonly bigint[]): Promise<void> {
    for (const part of chunks(seqs)) {
      await this.db
        .deleteFrom('sync_inbound')
        .where(
          'seq',
          'in',
          part.map((s) => this.flavour.int8(s)),
        )
        .execute();
    }
  }

  async markFailed(seq: bigint, error: RecordError): Promise<void> {
    const result = await this.db
      .updateTable('sync_inbound')
      .set({ attempts: sql`attempts + 1`, last_error: JSON.stringify(error) })
      .where('seq', '=', this.flavour.int8(seq))
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new Error(`no buffered record ${seq} waits to be applied`);
  }

  async failures(): Promise<readonly BufferedRecord[]> {
    const rows = await this.selectBuffered().where('last_error', 'is not', null).orderBy('seq').execute();
    return rows.map(bufferedFromRow);
  }

  private selectBuffered() {
    return this.db.selectFrom('sync_inbound').select(['batch_id', 'source_site_id', 'record', 'attempts', 'last_error', int8Text]);
  }
}

function bufferedFromRow(row: {
  batch_id: string;
  source_site_id: number;
  record: unknown;
  attempts: number;
  last_error: unknown;
  seq_text: string;
}): BufferedRecord {
  return {
    seq: parseInt8(row.seq_text),
    batchId: row.batch_id,
    sourceSiteId: row.source_site_id,
    record: parseJson(row.record) as SyncRecord,
    attempts: Number(row.attempts),
    lastError: row.last_error === null ? null : (parseJson(row.last_error) as RecordError),
  };
}
