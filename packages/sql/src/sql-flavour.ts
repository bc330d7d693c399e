import type { Insertable, Kysely, RawBuilder, Transaction } from 'kysely';
import type { SyncDb, SyncRecordTable } from './schema';

/**
 * What differs between the engines, and nothing else: value encodings, a JSON field expression, and
 * how records get their change-feed cursor. The repositories in this package are written once
 * against it.
 */
export interface SqlFlavour {
  readonly engine: 'sqlite' | 'postgres';
  bool(value: boolean): boolean | number;
  time(value: Date): Date | string;
  /** a 64-bit cursor as a query parameter */
  int8(value: bigint): bigint | string;
  /**
   * The text of a field of `sync_record.data` (for `findByField`). The field name is written into
   * the SQL as a literal (checked by `assertFieldName`), so that expression indexes on it are used.
   */
  dataField(field: string): RawBuilder<string | null>;
  /**
   * `sync_issue.key` compared by code point, not by the database's collation, so that a key range
   * is a prefix and the index on it is used (Postgres: `key collate "C"`, with an index of its own).
   */
  readonly issueKeyInCodePointOrder: RawBuilder<string>;
  /** Cursors for `count` records written in transaction `trx`, the first of them returned. Called after `beforeRecordLocks`. */
  reserveCursors(trx: Transaction<SyncDb>, count: number): Promise<bigint>;
  /**
   * Until the transaction `trx` ends, other transactions cannot write records (Postgres: a SHARE
   * lock on `sync_record`). Absent where one transaction writes at a time anyway.
   */
  readonly holdRecordWrites?: (trx: Kysely<SyncDb>) => Promise<void>;
  /**
   * Where cursors are taken on write under a lock held to commit (Postgres: the row of
   * `sync_feed_state`), a unit of work takes that lock before it locks or writes record rows
   * (`lockMany`, `remove`, `upsert`; once per unit of work): every unit of work takes the feed's
   * lock first, so two never wait on each other. Absent where one transaction writes at a time anyway.
   */
  readonly beforeRecordLocks?: (trx: Kysely<SyncDb>) => Promise<void>;
  /**
   * An engine's fastest way to upsert record rows in the transaction `db` is in, the same form its
   * raw driver would use (SQLite: one reused prepared statement; Postgres: `unnest` arrays).
   * Absent, Kysely multi-row inserts are used.
   */
  readonly writeRecordRows?: (db: Kysely<SyncDb>, rows: readonly Insertable<SyncRecordTable>[]) => Promise<void>;
}

export function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

export function parseBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

export function parseTime(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new Error(`expected a timestamp, got ${typeof value}`);
}

export function parseInt8(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`64-bit value ${value} lost precision: select it as text`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`expected a 64-bit integer, got ${String(value)}`);
}

/** Fields `findByField` may look up: plain identifiers only, since they are written into the SQL. */
export function assertFieldName(field: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(field)) throw new Error(`findByField: "${field}" is not a plain field name (letters, digits, underscores)`);
  return field;
}

/** The data fields that link lines to their headers: indexed on both engines (migration 0002). */
export const INDEXED_DATA_FIELDS = ['transactionId', 'requisitionId', 'purchaseOrderId', 'goodsReceivedId'] as const;
