import { sql, type Kysely } from 'kysely';

/** The document kinds that got a number sequence of their own, and the shared per-type counter each starts from. */
const SPLIT_SEQUENCES = [
  ['transaction:supplier_invoice', 'transaction'],
  ['transaction:customer_invoice', 'transaction'],
  ['requisition:response', 'requisition'],
  ['requisition:customer', 'requisition'],
] as const;

/**
 * Migration step (SQLite 0005, Postgres 0006): transfers number each kind of document on its own
 * (`numberSequenceOf`). Each new sequence starts where the shared per-type counter was, so no number
 * already given is given again.
 */
export async function splitNumberSequences(db: Kysely<unknown>): Promise<void> {
  for (const [sequence, type] of SPLIT_SEQUENCES) {
    await sql`insert into sync_serial (store_id, type, last) select store_id, ${sequence}, last from sync_serial where type = ${type}`.execute(db);
  }
}
