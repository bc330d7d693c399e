import { sql, type Kysely } from 'kysely';
import type { SyncDb } from './schema';

/** Rows per INSERT statement: under SQLite's and Postgres' bound-parameter limits for every table here. */
const CHUNK = 500;

/** Runs `work` in the caller's transaction, or in a new one. */
export function atomically<T>(db: Kysely<SyncDb>, work: (db: Kysely<SyncDb>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** `items` in slices of `size`. */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The feed's int8 cursor as text: exact on every engine (PGlite returns int8 as a JS number). */
export const int8Text = sql<string>`cast(seq as text)`.as('seq_text');
