import {
  buildTopology,
  siteFromInput,
  type Site,
  SITE_CONNECTION_FIELDS,
  type SiteConnectionUpdate,
  type SiteId,
  type Topology,
  type TopologyRepository,
} from '@sitesync/domain';
import { sql, type Kysely } from 'kysely';
import { atomically, chunks } from './kysely-helpers';
import type { SyncDb } from './schema';
import { parseInt8, parseJson, parseTime, type SqlFlavour } from './sql-flavour';

/** A stored site document as a site (its times are ISO strings in the document; a field it lacks takes its default). */
function siteFromDoc(stored: unknown): Site {
  const doc = parseJson(stored) as Site & { lastSyncedAt?: string | null; lastConnectedAt?: string | null };
  return siteFromInput({
    ...doc,
    lastSyncedAt: doc.lastSyncedAt == null ? null : parseTime(doc.lastSyncedAt),
    lastConnectedAt: doc.lastConnectedAt == null ? null : parseTime(doc.lastConnectedAt),
  });
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
    // a site whose document is the same but for its connection fields is not written (nor locked: its logins and syncs go on)
    const changedBesidesConnection = postgres
      ? sql<boolean>`(excluded.doc - ${sql.val([...SITE_CONNECTION_FIELDS])}::text[]) is distinct from (sync_site.doc - ${sql.val([...SITE_CONNECTION_FIELDS])}::text[])`
      : sql<boolean>`json_remove(excluded.doc, ${sql.join(SITE_CONNECTION_FIELDS.map((f) => sql`${`$.${f}`}`))}) is not json_remove(sync_site.doc, ${sql.join(SITE_CONNECTION_FIELDS.map((f) => sql`${`$.${f}`}`))})`;
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
          .onConflict((oc) => oc.column('id').doUpdateSet({ doc: kept }).where(changedBesidesConnection))
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
