import {
  buildTopology,
  type Change,
  type ChangeFeed,
  type ChangeOrigin,
  type EncodedChange,
  type RecordSelector,
  type RecordStore,
  type RoutingCount,
  type Site,
  SITE_CONNECTION_FIELDS,
  type SiteConnectionUpdate,
  type SiteId,
  type StoreId,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type TopologyRepository,
  type UnitOfWork,
} from '@sitesync/domain';
import { sql, type Kysely, type Selectable } from 'kysely';
import { atomically, chunks, int8Text } from './kysely-helpers';
import { KyselyInboundBuffer } from './kysely-inbound-buffer';
import { KyselyIssueLog } from './kysely-issue-log';
import { KyselyPushLedger, KyselySettingsStore } from './kysely-settings';
import { KyselyResyncQueue } from './kysely-resync-queue';
import type { SyncDb, SyncRecordTable } from './schema';
import { parseBool, parseInt8, parseJson, parseTime, type SqlFlavour } from './sql-flavour';

/** Storage over Kysely: every port, and a unit of work that is one database transaction. */
export interface KyselySyncStorage extends UnitOfWork {
  /** the ports outside any unit of work: each call is its own transaction */
  readonly storage: SyncStorage;
}

export function createKyselySyncStorage(db: Kysely<SyncDb>, flavour: SqlFlavour): KyselySyncStorage {
  return {
    storage: portsOver(db, flavour),
    run: <T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> =>
      db.isTransaction ? work(portsOver(db, flavour)) : db.transaction().execute((trx) => work(portsOver(trx, flavour))),
  };
}

function portsOver(db: Kysely<SyncDb>, flavour: SqlFlavour): SyncStorage {
  return {
    topology: new KyselyTopologyRepository(db, flavour),
    records: new KyselyRecordStore(db, flavour),
    changes: new KyselyChangeFeed(db, flavour),
    inbound: new KyselyInboundBuffer(db, flavour),
    issues: new KyselyIssueLog(db, flavour),
    pushes: new KyselyPushLedger(db, flavour),
    settings: new KyselySettingsStore(db),
    resync: new KyselyResyncQueue(db, flavour),
  };
}

/** A stored site document as a site (its times are ISO strings in the document). */
function siteFromDoc(stored: unknown): Site {
  const doc = parseJson(stored) as Site & { lastSyncedAt: string | null; lastConnectedAt?: string | null };
  return {
    ...doc,
    lastSyncedAt: doc.lastSyncedAt == null ? null : parseTime(doc.lastSyncedAt),
    lastConnectedAt: doc.lastConnectedAt == null ? null : parseTime(doc.lastConnectedAt),
  };
}

export class KyselyTopologyRepository implements TopologyRepository {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  async load(): Promise<Topology | null> {
    const sites = await this.db.selectFrom('sync_site').select(['id', 'doc']).orderBy('id').execute();
    if (sites.length === 0) return null;
    const stores = await this.db.selectFrom('sync_store').select(['id', 'doc']).orderBy('id').execute();
    const built = buildTopology({
      sites: sites.map((row) => siteFromDoc(row.doc)),
      stores: stores.map((row) => parseJson(row.doc) as Topology['stores'][number]),
    });
    if (!built.ok) throw new Error(`the stored topology breaks the rules: ${built.error.map((v) => v.message).join(' ')}`);
    return built.value;
  }

  /**
   * Sites are written one row each, the sites no longer in the topology deleted; a site that stays
   * keeps its stored connection fields (`updateSite` writes those, and a login may have written one
   * after this change read the topology). Stores are replaced.
   */
  save(topology: Topology): Promise<void> {
    const postgres = this.flavour.engine === 'postgres';
    // the connection fields of the stored row, over the new document
    const kept = postgres
      ? sql<string>`excluded.doc || jsonb_build_object(${sql.join(SITE_CONNECTION_FIELDS.map((f) => sql`${f}::text, sync_site.doc -> ${f}::text`))})`
      : sql<string>`json_set(excluded.doc, ${sql.join(SITE_CONNECTION_FIELDS.map((f) => sql`${`$.${f}`}, json(sync_site.doc -> ${`$.${f}`})`))})`;
    return atomically(this.db, async (db) => {
      await db
        .insertInto('sync_topology_version')
        .values({ id: 1, version: 1 })
        .onConflict((oc) => oc.column('id').doUpdateSet({ version: sql`sync_topology_version.version + 1` }))
        .execute();
      const ids = topology.sites.map((s) => s.id);
      await db.deleteFrom('sync_site').where('id', 'not in', ids).execute();
      for (const part of chunks(topology.sites)) {
        await db
          .insertInto('sync_site')
          .values(part.map((s) => ({ id: s.id, doc: JSON.stringify(s) })))
          .onConflict((oc) => oc.column('id').doUpdateSet({ doc: kept }))
          .execute();
      }
      await db.deleteFrom('sync_store').execute();
      for (const part of chunks(topology.stores)) {
        await db
          .insertInto('sync_store')
          .values(part.map((s) => ({ id: s.id, doc: JSON.stringify(s) })))
          .execute();
      }
    });
  }

  async version(): Promise<bigint> {
    const row = await this.db
      .selectFrom('sync_topology_version')
      .select(sql<string>`cast(version as text)`.as('v'))
      .where('id', '=', 1)
      .executeTakeFirst();
    return row ? parseInt8(row.v) : 0n;
  }

  /**
   * Postgres: the row of `sync_topology_version`, `for update` (created first if the topology was
   * never saved). SQLite has one writer at a time, and the central runs on Postgres.
   */
  async lock(): Promise<void> {
    if (this.flavour.engine !== 'postgres') return;
    if (!this.db.isTransaction) throw new Error('TopologyRepository.lock: call it inside a unit of work');
    await this.db
      .insertInto('sync_topology_version')
      .values({ id: 1, version: 0 })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await this.db.selectFrom('sync_topology_version').select('id').where('id', '=', 1).forUpdate().execute();
  }

  async site(siteId: SiteId): Promise<Site | null> {
    const row = await this.db.selectFrom('sync_site').select('doc').where('id', '=', siteId).executeTakeFirst();
    return row ? siteFromDoc(row.doc) : null;
  }

  /** One statement writes only these fields of the document: a concurrent write of another field, and a topology change (`save` keeps them), are kept. */
  async updateSite(siteId: SiteId, fields: SiteConnectionUpdate, options: { readonly ifUnchanged?: SiteConnectionUpdate } = {}): Promise<boolean> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    const expected = Object.entries(options.ifUnchanged ?? {}).filter(([, value]) => value !== undefined);
    const postgres = this.flavour.engine === 'postgres';
    const doc =
      entries.length === 0
        ? sql<string>`doc`
        : postgres
          ? sql<string>`doc || ${JSON.stringify(Object.fromEntries(entries))}::jsonb`
          : sql<string>`json_set(doc, ${sql.join(entries.map(([field, value]) => sql`${`$.${field}`}, json(${JSON.stringify(value)})`))})`;
    let update = this.db.updateTable('sync_site').set({ doc }).where('id', '=', siteId);
    if (expected.length > 0) {
      update = postgres
        ? update.where(sql<boolean>`doc @> ${JSON.stringify(Object.fromEntries(expected))}::jsonb`)
        : update.where(
            sql<boolean>`${sql.join(
              expected.map(([field, value]) => sql`json_extract(doc, ${`$.${field}`}) is json_extract(${JSON.stringify(value)}, '$')`),
              sql` and `,
            )}`,
          );
    }
    const result = await update.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async passwordHash(siteId: SiteId): Promise<string | null> {
    const row = await this.db.selectFrom('sync_credential').select('password_hash').where('site_id', '=', siteId).executeTakeFirst();
    return row?.password_hash ?? null;
  }

  async setPasswordHash(siteId: SiteId, hash: string): Promise<void> {
    await this.db
      .insertInto('sync_credential')
      .values({ site_id: siteId, password_hash: hash })
      .onConflict((oc) => oc.column('site_id').doUpdateSet({ password_hash: hash }))
      .execute();
  }
}

type RecordRow = Pick<Selectable<SyncRecordTable>, 'type' | 'id' | 'store_id' | 'other_party_store_id' | 'patient_id' | 'home_store_id' | 'deleted' | 'data'>;

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

const RECORD_COLUMNS = ['type', 'id', 'store_id', 'other_party_store_id', 'patient_id', 'home_store_id', 'deleted', 'data'] as const;

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
        seq: first === null ? null : f.int8(first + n++),
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

export class KyselyChangeFeed implements ChangeFeed {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  read(after: bigint, limit: number): Promise<readonly Change[]> {
    return this.changesAfter(after, limit, true);
  }

  scan(after: bigint, limit: number): Promise<readonly Change[]> {
    return this.changesAfter(after, limit, false);
  }

  async readEncoded(after: bigint, limit: number): Promise<readonly EncodedChange[]> {
    await this.flavour.sequence(this.db);
    // the data as text (Postgres: jsonb's text output; SQLite keeps text), not parsed here
    const rows = await this.db
      .selectFrom('sync_record')
      .select([...RECORD_COLUMNS.filter((c) => c !== 'data'), sql<string>`cast(data as text)`.as('data_json'), 'source_site_id', 'via_sync', int8Text])
      .where('seq', '>', this.flavour.int8(after))
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      cursor: parseInt8(row.seq_text),
      sourceSiteId: row.source_site_id,
      viaSync: parseBool(row.via_sync),
      record: recordFromRow(row, {}),
      dataJson: row.data_json,
    }));
  }

  /** Records with a cursor after `after`, in cursor order; without their data when `withData` is false. */
  private async changesAfter(after: bigint, limit: number, withData: boolean): Promise<readonly Change[]> {
    await this.flavour.sequence(this.db);
    const columns = withData ? RECORD_COLUMNS : RECORD_COLUMNS.filter((c) => c !== 'data');
    const rows = await this.db
      .selectFrom('sync_record')
      .select([...columns, 'source_site_id', 'via_sync', int8Text])
      .where('seq', '>', this.flavour.int8(after))
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      cursor: parseInt8(row.seq_text),
      sourceSiteId: row.source_site_id,
      viaSync: parseBool(row.via_sync),
      record: withData ? recordFromRow(row) : recordFromRow(row, {}),
    }));
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
    await this.flavour.sequence(this.db);
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
