import type { SyncRecord } from './record';
import type { RuleViolation } from './result';

/**
 * What one record may hold. Every site checks a record against these before it stores it (a local
 * write, a pushed record on the central, a pulled record on a remote), so a record that one engine
 * cannot store (Postgres `jsonb` refuses `\u0000`; a JSON nested thousands deep overflows the
 * stack) is refused for itself, with the limit it broke, and never blocks the records around it.
 */
export const RECORD_LIMITS = Object.freeze({
  /** characters in one string of a record's data (and in a key) */
  maxStringLength: 1_000_000,
  /** levels of objects and arrays inside `data` (`data` itself is level 1) */
  maxDepth: 32,
  /** characters of the record as JSON */
  maxRecordChars: 2_000_000,
  /** characters of a record id, a type or a routing column */
  maxIdLength: 200,
  /** keys and array elements in `data`, all levels together */
  maxValues: 100_000,
});

export const RECORD_CONTENT_CODES = [
  'record.invalid-text',
  'record.reserved-key',
  'record.too-deep',
  'record.too-large',
  'record.string-too-long',
  'record.invalid-data',
] as const;
export type RecordContentCode = (typeof RECORD_CONTENT_CODES)[number];
export type RecordContentViolation = RuleViolation<RecordContentCode>;

/** A key that changes an object's prototype when a JSON object is copied by assignment (and that validators drop). */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__']);

/** `\u0000`, or a UTF-16 surrogate without its partner: text no database stores as it was sent (`INVALID_TEXT.test(text)`). */
// eslint-disable-next-line no-control-regex
export const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text safe to keep in any database and to print: `\u0000`, other control characters and unpaired surrogates escaped, at most `max` characters. */
export function printable(text: string, max = 200): string {
  const escaped = text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}

const FIX = 'Correct the record on the site where it was entered (or remove it there); the other records of its batch are not held up by it.';

/**
 * Why a record cannot be stored for its own content, or null when it fits RECORD_LIMITS. Walks the
 * data without recursion, so no nesting depth can overflow the stack.
 */
export function recordContentProblem(record: SyncRecord): RecordContentViolation | null {
  // the record's name is made only for a violation (this runs for every record of every push)
  const violation = (code: RecordContentCode, rule: string, message: string): RecordContentViolation => ({
    code,
    rule,
    message: `Record ${printable(String(record.type), 60)} ${printable(String(record.id), 60)}: ${message}`,
    fix: FIX,
  });
  for (const [field, value] of [
    ['type', record.type],
    ['id', record.id],
    ['storeId', record.storeId],
    ['otherPartyStoreId', record.otherPartyStoreId],
    ['patientId', record.patientId],
    ['homeStoreId', record.homeStoreId],
  ] as const) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return violation('record.invalid-data', 'routing columns are text', `field "${field}" is not text.`);
    if (value.length > RECORD_LIMITS.maxIdLength)
      return violation(
        'record.string-too-long',
        `a ${field} has at most ${RECORD_LIMITS.maxIdLength} characters`,
        `field "${field}" has ${value.length} characters.`,
      );
    if (INVALID_TEXT.test(value))
      return violation('record.invalid-text', 'text holds no \\u0000 and no unpaired surrogate', `field "${field}" holds \\u0000 or an unpaired surrogate.`);
  }
  if (typeof record.data !== 'object' || record.data === null || Array.isArray(record.data))
    return violation('record.invalid-data', 'data is a JSON object', 'field "data" is not a JSON object.');

  let chars = 2;
  let values = 0;
  const stack: { readonly value: unknown; readonly depth: number; readonly path: string }[] = [{ value: record.data, depth: 1, path: 'data' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (depth > RECORD_LIMITS.maxDepth)
      return violation(
        'record.too-deep',
        `data is nested at most ${RECORD_LIMITS.maxDepth} levels deep`,
        `"${path}" is nested deeper than ${RECORD_LIMITS.maxDepth} levels.`,
      );
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object);
    values += entries.length;
    if (values > RECORD_LIMITS.maxValues)
      return violation(
        'record.too-large',
        `data holds at most ${RECORD_LIMITS.maxValues} keys and array elements`,
        `data holds more than ${RECORD_LIMITS.maxValues} values.`,
      );
    for (const [key, child] of entries) {
      const at = () => (Array.isArray(value) ? `${path}[${key}]` : `${path}.${printable(key, 60)}`);
      if (!Array.isArray(value)) {
        if (RESERVED_KEYS.has(key)) return violation('record.reserved-key', 'data has no "__proto__" key', `"${at()}" is a reserved key.`);
        chars += key.length + 4;
        if (key.length > RECORD_LIMITS.maxStringLength || INVALID_TEXT.test(key))
          return violation(
            'record.invalid-text',
            'keys are text of at most the string limit, without \\u0000',
            `a key of "${path}" is too long or holds \\u0000.`,
          );
      }
      chars += 1;
      if (typeof child === 'string') {
        if (child.length > RECORD_LIMITS.maxStringLength)
          return violation(
            'record.string-too-long',
            `a string in data has at most ${RECORD_LIMITS.maxStringLength} characters`,
            `"${at()}" has ${child.length} characters.`,
          );
        if (INVALID_TEXT.test(child))
          return violation('record.invalid-text', 'text holds no \\u0000 and no unpaired surrogate', `"${at()}" holds \\u0000 or an unpaired surrogate.`);
        chars += child.length + 2;
      } else if (typeof child === 'number') {
        if (!Number.isFinite(child)) return violation('record.invalid-data', 'numbers are finite', `"${at()}" is not a finite number.`);
        chars += String(child).length;
      } else if (typeof child === 'object' && child !== null) {
        chars += 2;
        stack.push({ value: child, depth: depth + 1, path: at() });
      } else if (typeof child === 'boolean' || child === null) {
        chars += child === false ? 5 : 4;
      } else {
        return violation('record.invalid-data', 'data holds JSON values only', `"${at()}" is not a JSON value.`);
      }
      if (chars > RECORD_LIMITS.maxRecordChars)
        return violation(
          'record.too-large',
          `a record is at most ${RECORD_LIMITS.maxRecordChars} characters of JSON`,
          `data is larger than ${RECORD_LIMITS.maxRecordChars} characters.`,
        );
    }
  }
  return null;
}
