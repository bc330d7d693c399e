import { INVALID_TEXT, RECORD_LIMITS } from '@sitesync/domain';
import { parseBody } from './request-parsing';
import { MAX_RECORDS_PER_REQUEST, pushRequestSchema, type PushRequest } from './wire';

const REQUEST_KEYS: ReadonlySet<string> = new Set(['batchId', 'records', 'more']);
const RECORD_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId', 'deleted', 'data']);
const ROUTING_KEYS = ['storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId'] as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isName = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= RECORD_LIMITS.maxIdLength;

/** Whether `pushRequestSchema` takes `value` as it is: every field of the schema's type and size, and no other (which it would drop). */
function fitsAsItIs(value: unknown): value is PushRequest {
  if (!isObject(value)) return false;
  for (const key in value) if (!REQUEST_KEYS.has(key)) return false;
  const { batchId, records, more } = value;
  if (typeof batchId !== 'string' || batchId.length < 1 || batchId.length > 200 || INVALID_TEXT.test(batchId)) return false;
  if (more !== undefined && typeof more !== 'boolean') return false;
  if (!Array.isArray(records) || records.length > MAX_RECORDS_PER_REQUEST) return false;
  for (const record of records as unknown[]) {
    if (!isObject(record)) return false;
    for (const key in record) if (!RECORD_KEYS.has(key)) return false;
    if (!isName(record['type']) || !isName(record['id']) || !isObject(record['data'])) return false;
    for (const key of ROUTING_KEYS) {
      const routing = record[key];
      if (routing !== undefined && routing !== null && (typeof routing !== 'string' || routing.length > RECORD_LIMITS.maxIdLength)) return false;
    }
    if (record['deleted'] !== undefined && typeof record['deleted'] !== 'boolean') return false;
  }
  return true;
}

/**
 * A push request's body: taken as it was parsed when it fits `pushRequestSchema` exactly (checked
 * in one pass, without copying each record), else through the schema, which answers what is wrong
 * (or copies the records without the fields it does not know). The same value either way.
 */
export function parsePushRequest(body: unknown): PushRequest {
  if (fitsAsItIs(body)) {
    const { batchId, records, more } = body;
    return { batchId, records, ...(more !== undefined ? { more } : {}) };
  }
  return parseBody(pushRequestSchema, body);
}
