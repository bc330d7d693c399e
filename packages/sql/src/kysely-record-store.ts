import { type ChangeOrigin, type RecordSelector, type RecordStore, type StoreId, type SyncRecord } from '@sitesync/domain';
import { sql, type Kysely, type Selectable } from 'kysely';
import { atomically, chunks } from './kysely-helpers';
import type { SyncDb, SyncRecordTable } from './schema';
import { parseBool, parseJson, type SqlFlavour } from './sql-flavour';

export type RecordRow = Pick<
  Selectable<SyncRecordTable>,
  'type' | 'id' | 'store_id' | 'other_party_store_id' | 'patient_id' | 'home_store_id' | 'deleted' | 'data'
>;

/** A row as a record: routing columns that are empty are left out, as are `deleted: false`. */
export function recordFromRow(row: Omit<RecordRow, 'data'> & { data?: unknown }, data?: SyncRecord['data']): SyncRecord {
  return {
    type: row.type,
    id: row.id,
    ...(row.store_id !== null ? { storeId: row.store_id } : {}),
    ...(row.other_party_store_id !== null ? { otherPartyStoreId: row.other_party_store_id } : {}),
    ...(row.patient_id !== null ? { patientId: row.patient_id } : {}),
    ...(row.home_store_id !== null ? { homeStoreId: row.home_store_id } : {}),
    ...(parseBool(row.deleted) ? { deleted: true } : {}),
    data: data ?? (parseJson(row.data) as SyncRecord['data']),
  };
}

export const RECORD_COLUMNS = ['type', 'id', 'store_id', 'other_party_store_id', 'patient_id', 'home_store_id', 'deleted', 'data'] as const;

/** Values of one `findByField` statement at most. */
const FIND_CHUNK = 500;

export class KyselyRecordStore implements RecordStore {
  /** the unit of work this store belongs to holds the feed's lock (`SqlFlavour.beforeRecordLocks`) */
  private feedHeld = false;

  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  /** Takes the feed's lock before record rows are locked or written, once per unit of work. */
  private async holdFeed(db: Kysely<SyncDb>): Promise<void> {
    if (this.feedHeld || !db.isTransaction || !this.flavour.beforeRecordLocks) return;
    await this.flavour.beforeRecordLocks(db);
    if (db === this.db) this.feedHeld = true;
  }

  async get(type: string, id: string): Promise<SyncRecord | null> {
    const row = await this.db.selectFrom('sync_record').select(RECORD_COLUMNS).where('type', '=', type).where('id', '=', id).executeTakeFirst();
    return row ? recordFromRow(row) : null;
  }

  getMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]> {
    return this.readMany(keys, false);
  }

  /** Postgres locks the rows (`for update`, in key order); SQLite has one writer at a time: a plain read. */
  lockMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]> {
    return this.readMany(keys, this.flavour.engine === 'postgres');
  }

  private async readMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[], lock: boolean): Promise<readonly SyncRecord[]> {
    const idsByType = new Map<string, Set<string>>();
    for (const { type, id } of keys) {
      let ids = idsByType.get(type);
      if (!ids) idsByType.set(type, (ids = new Set()));
      ids.add(id);
    }
    const out: SyncRecord[] = [];
    if (lock && idsByType.size > 0) await this.holdFeed(this.db);
    // locks are taken in one order (type, then id) by every locker, so two of them never wait on each other
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    for (const [type, ids] of lock ? [...idsByType].sort(([a], [b]) => order(a, b)) : idsByType) {
      const sorted = lock ? [...ids].sort(order) : [...ids];
      // Postgres: one statement, the ids as one array parameter; SQLite: a bounded number of parameters each
      const postgres = this.flavour.engine === 'postgres';
      for (const part of postgres ? [sorted] : chunks(sorted)) {
        const ofType = this.db.selectFrom('sync_record').select(RECORD_COLUMNS).where('type', '=', type);
        const query = postgres ? ofType.where('id', '=', sql<string>`any(${part}::text[])`) : ofType.where('id', 'in', part);
        const rows = await (lock ? query.orderBy('id').forUpdate() : query).execute();
        for (const row of rows) out.push(recordFromRow(row));
      }
    }
    return out;
  }

  upsert(records: readonly SyncRecord[], origin: ChangeOrigin): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    // One statement may not touch a row twice: the last write of a record in the batch wins.
    const latest = new Map<string, SyncRecord>();
    for (const r of records) {
      const key = `${r.type}\u0000${r.id}`;
      latest.delete(key);
      latest.set(key, r);
    }
    const unique = [...latest.values()];
    const f = this.flavour;
    return atomically(this.db, async (db) => {
      await this.holdFeed(db);
      const first = await f.reserveCursors(db as never, unique.length);
      let n = 0n;
      const rows = unique.map((r) => ({
        type: r.type,
        id: r.id,
        store_id: r.storeId ?? null,
        other_party_store_id: r.otherPartyStoreId ?? null,
        patient_id: r.patientId ?? null,
        home_store_id: r.homeStoreId ?? null,
        deleted: f.bool(r.deleted === true),
        data: JSON.stringify(r.data),
        source_site_id: origin.sourceSiteId,
        via_sync: f.bool(origin.viaSync),
        seq: f.int8(first + n++),
      }));
      if (f.writeRecordRows) {
        await f.writeRecordRows(db, rows);
        return;
      }
      for (const part of chunks(rows)) {
        await db
          .insertInto('sync_record')
          .values(part)
          .onConflict((oc) =>
            oc.columns(['type', 'id']).doUpdateSet((eb) => ({
              store_id: eb.ref('excluded.store_id'),
              other_party_store_id: eb.ref('excluded.other_party_store_id'),
              patient_id: eb.ref('excluded.patient_id'),
              home_store_id: eb.ref('excluded.home_store_id'),
              deleted: eb.ref('excluded.deleted'),
              data: eb.ref('excluded.data'),
              source_site_id: eb.ref('excluded.source_site_id'),
              via_sync: eb.ref('excluded.via_sync'),
              seq: eb.ref('excluded.seq'),
            })),
          )
          .execute();
      }
    });
  }

  async findByField(type: string, field: string, value: string | readonly string[]): Promise<readonly SyncRecord[]> {
    const values = typeof value === 'string' ? [value] : [...new Set(value)];
    const found: SyncRecord[] = [];
    // a bounded number of parameters per statement (SQLite and Postgres both cap them)
    for (let i = 0; i < values.length; i += FIND_CHUNK) {
      const chunk = values.slice(i, i + FIND_CHUNK);
      const rows = await this.db
        .selectFrom('sync_record')
        .select(RECORD_COLUMNS)
        .where('type', '=', type)
        .where(this.flavour.dataField(field), chunk.length === 1 ? '=' : 'in', chunk.length === 1 ? chunk[0]! : chunk)
        .orderBy('id')
        .execute();
      for (const row of rows) found.push(recordFromRow(row));
    }
    return values.length > FIND_CHUNK ? found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : found;
  }

  async list(type: string, options: { readonly afterId?: string; readonly limit: number }): Promise<readonly SyncRecord[]> {
    let query = this.db.selectFrom('sync_record').select(RECORD_COLUMNS).where('type', '=', type);
    if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
    const rows = await query.orderBy('id').limit(options.limit).execute();
    return rows.map((row) => recordFromRow(row));
  }

  async select(
    selector: RecordSelector,
    options: { readonly after?: Pick<SyncRecord, 'type' | 'id'>; readonly limit: number },
  ): Promise<readonly SyncRecord[]> {
    const { storeIds, patientIds, types } = selector;
    if ((storeIds && storeIds.length === 0) || (patientIds && patientIds.length === 0) || (types && types.length === 0)) return [];
    let query = this.db.selectFrom('sync_record').select(RECORD_COLUMNS.filter((c) => c !== 'data'));
    if (types) query = query.where('type', 'in', [...types]);
    if (storeIds) {
      const ids = [...storeIds];
      query = query.where((eb) => eb.or([eb('store_id', 'in', ids), eb('other_party_store_id', 'in', ids), eb('home_store_id', 'in', ids)]));
    }
    if (patientIds) query = query.where('patient_id', 'in', [...patientIds]);
    const { after } = options;
    // a row-value comparison: an index bound on the primary key on both engines (an OR of two conditions is not, and every page would scan from the start)
    if (after) query = query.where((eb) => eb(eb.refTuple('type', 'id'), '>', eb.tuple(after.type, after.id)));
    const rows = await query
      .orderBy('type')
      .orderBy('id')
      .limit(Math.max(0, Math.floor(options.limit)))
      .execute();
    return rows.map((row) => recordFromRow(row, {}));
  }

  async remove(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<void> {
    const idsByType = new Map<string, string[]>();
    for (const { type, id } of keys) idsByType.set(type, [...(idsByType.get(type) ?? []), id]);
    if (idsByType.size > 0) await this.holdFeed(this.db);
    for (const [type, ids] of idsByType) {
      for (const part of chunks(ids)) await this.db.deleteFrom('sync_record').where('type', '=', type).where('id', 'in', part).execute();
    }
  }

  async holdWrites(): Promise<void> {
    if (!this.db.isTransaction) throw new Error('holdWrites: call it inside a unit of work');
    await this.flavour.holdRecordWrites?.(this.db);
  }

  async raiseSerialNumber(storeId: StoreId, type: string, inUse: number): Promise<void> {
    await this.db
      .insertInto('sync_serial')
      .values({ store_id: storeId, type, last: inUse })
      .onConflict((oc) =>
        oc.columns(['store_id', 'type']).doUpdateSet({ last: sql`case when sync_serial.last < ${inUse} then ${inUse} else sync_serial.last end` }),
      )
      .execute();
  }

  async nextSerialNumber(storeId: StoreId, type: string): Promise<number> {
    const row = await this.db
      .insertInto('sync_serial')
      .values({ store_id: storeId, type, last: 1 })
      .onConflict((oc) => oc.columns(['store_id', 'type']).doUpdateSet({ last: sql`sync_serial.last + 1` }))
      .returning('last')
      .executeTakeFirstOrThrow();
    return Number(row.last);
  }
}
