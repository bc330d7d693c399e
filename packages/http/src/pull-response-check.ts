import { RECORD_LIMITS } from '@sitesync/domain';
import { MAX_CURSOR, type PullResponse } from './wire';

const RECORD_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId', 'deleted', 'data']);
const ROUTING_COLUMNS = ['storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId'] as const;
const RESPONSE_KEYS: ReadonlySet<string> = new Set(['records', 'nextCursor', 'remaining', 'drops', 'nextQueueCursor']);
const CURSOR = /^\d{1,19}$/;

/**
 * Whether a pull answer is plainly well formed, checked in one pass without copying it: a shortcut
 * for `pullResponseSchema` on the remote's hot path (a zod parse builds a copy of every record). It
 * accepts only answers the schema accepts and would give back unchanged (no key the schema does
 * not know, so none it would strip); anything else, it refuses, and the schema decides (and says
 * what is wrong).
 */
export function isPlainPullResponse(json: unknown): json is PullResponse {
  if (!isObject(json) || !onlyKeys(json, RESPONSE_KEYS)) return false;
  const { records, nextCursor, remaining, drops, nextQueueCursor } = json;
  if (!isCursor(nextCursor) || !Number.isSafeInteger(remaining) || (remaining as number) < 0) return false;
  if (nextQueueCursor !== undefined && !isCursor(nextQueueCursor)) return false;
  if (drops !== undefined) {
    if (!Array.isArray(drops)) return false;
    for (const drop of drops as unknown[]) {
      if (!isObject(drop) || typeof drop['type'] !== 'string' || typeof drop['id'] !== 'string' || Object.keys(drop).length !== 2) return false;
    }
  }
  if (!Array.isArray(records)) return false;
  for (const record of records as unknown[]) if (!isPlainRecord(record)) return false;
  return true;
}

function isPlainRecord(record: unknown): boolean {
  if (!isObject(record) || !onlyKeys(record, RECORD_KEYS)) return false;
  const { type, id, deleted, data } = record;
  if (!isText(type, 1) || !isText(id, 1)) return false;
  for (const column of ROUTING_COLUMNS) {
    const value = record[column];
    if (value !== undefined && value !== null && !isText(value, 0)) return false;
  }
  if (deleted !== undefined && typeof deleted !== 'boolean') return false;
  return isObject(data);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, known: ReadonlySet<string>): boolean {
  for (const key in value) if (!known.has(key) || !Object.prototype.hasOwnProperty.call(value, key)) return false;
  return Object.getPrototypeOf(value) === Object.prototype;
}

function isText(value: unknown, min: number): boolean {
  return typeof value === 'string' && value.length >= min && value.length <= RECORD_LIMITS.maxIdLength;
}

function isCursor(value: unknown): boolean {
  return typeof value === 'string' && CURSOR.test(value) && (value.length < 19 || BigInt(value) <= MAX_CURSOR);
}
