import type { RawProbe } from '@sitesync/testkit';

/** Anything that runs SQL with positional parameters: a pg Pool or a PGlite instance. */
export interface Queryable {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** Raw reads of the Postgres tables, bypassing the adapter. */
export function postgresProbe(q: Queryable): RawProbe {
  return {
    async recordRow(type, id) {
      const { rows } = await q.query<{
        store_id: string | null;
        other_party_store_id: string | null;
        patient_id: string | null;
        home_store_id: string | null;
        deleted: boolean;
        data: unknown;
      }>('select store_id, other_party_store_id, patient_id, home_store_id, deleted, data from sync_record where type = $1 and id = $2', [type, id]);
      const row = rows[0];
      return row
        ? {
            storeId: row.store_id,
            otherPartyStoreId: row.other_party_store_id,
            patientId: row.patient_id,
            homeStoreId: row.home_store_id,
            deleted: row.deleted,
            data: row.data,
          }
        : null;
    },
    async recordCount() {
      const { rows } = await q.query<{ n: string }>('select count(*)::text as n from sync_record');
      return Number(rows[0]!.n);
    },
    async consumerCursor(consumer) {
      const { rows } = await q.query<{ cursor: string }>('select cursor from sync_consumer where consumer = $1', [consumer]);
      return rows[0] ? BigInt(rows[0].cursor) : null;
    },
    async bufferedCount() {
      const { rows } = await q.query<{ n: string }>('select count(*)::text as n from sync_inbound');
      return Number(rows[0]!.n);
    },
    async issueKeys() {
      const { rows } = await q.query<{ key: string }>('select key from sync_issue order by key');
      return rows.map((r) => r.key);
    },
  };
}
