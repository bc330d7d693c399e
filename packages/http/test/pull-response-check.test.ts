import fc from 'fast-check';
import { isPlainPullResponse } from '../src/pull-response-check';
import { MAX_CURSOR, pullResponseSchema } from '../src/wire';

/** mostly `valid`, now and then something else */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: other, weight: 1 });
const odd = fc.constantFrom<unknown>(null, 1, -1, 1.5, true, [], {}, '', '1', 'abc', 2 ** 53, Number.MAX_SAFE_INTEGER, 'x'.repeat(201), undefined);
const text = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 12 }), weight: 20 },
  { arbitrary: fc.constantFrom('\u0000', 'x'.repeat(200), '\ud800'), weight: 1 },
);
const cursor = mostly(
  fc.bigInt({ min: 0n, max: MAX_CURSOR }).map(String),
  fc.oneof(fc.constantFrom('01', '-1', '1e3', ' 1', '9'.repeat(19), '9'.repeat(20), (MAX_CURSOR + 1n).toString()), odd),
);
const column = mostly(fc.oneof(fc.constant(undefined), fc.constant(null), text), odd);
const record = fc.record({
  type: mostly(text, odd),
  id: mostly(text, odd),
  storeId: column,
  otherPartyStoreId: column,
  patientId: column,
  homeStoreId: column,
  deleted: mostly(fc.option(fc.boolean(), { nil: undefined }), odd),
  data: mostly(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), odd),
  extra: mostly(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 })),
});
const answer = fc.record({
  records: mostly(fc.array(record, { maxLength: 4 }), odd),
  nextCursor: cursor,
  remaining: mostly(fc.nat(), fc.oneof(fc.integer(), odd)),
  drops: mostly(fc.option(fc.array(fc.record({ type: mostly(fc.string(), odd), id: mostly(fc.string(), odd) }), { maxLength: 3 }), { nil: undefined }), odd),
  nextQueueCursor: fc.oneof(fc.constant(undefined), cursor),
  other: mostly(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 })),
});
/** as it arrives: through JSON (undefined values are left out) */
const overTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('the quick check of a pull answer', () => {
  it('accepts only answers the schema accepts, and those the schema gives back unchanged', () => {
    let accepted = 0;
    fc.assert(
      fc.property(answer, (value) => {
        const json = overTheWire(value);
        if (!isPlainPullResponse(json)) return;
        accepted++;
        const parsed = pullResponseSchema.safeParse(json);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(json);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(300); // about half pass the quick check: both ways are exercised // enough answers pass the quick check to show something
  });

  it('accepts the answers a central sends', () => {
    const records = [
      { type: 'item', id: 'item-1', data: { name: 'x' } },
      { type: 'stock_line', id: 's', storeId: 'D', otherPartyStoreId: null, patientId: null, homeStoreId: null, deleted: true, data: {} },
    ];
    expect(isPlainPullResponse({ records, nextCursor: '12', remaining: 0 })).toBe(true);
    expect(isPlainPullResponse({ records: [], nextCursor: '12', remaining: 3, drops: [{ type: 'item', id: 'a' }], nextQueueCursor: '4' })).toBe(true);
  });

  it('leaves to the schema an answer with a key it does not know, or a record that breaks it', () => {
    const ok = { records: [{ type: 'item', id: 'a', data: {} }], nextCursor: '1', remaining: 0 };
    expect(isPlainPullResponse({ ...ok, more: true })).toBe(false);
    expect(isPlainPullResponse({ ...ok, records: [{ type: 'item', id: 'a', data: {}, note: 1 }] })).toBe(false);
    expect(isPlainPullResponse(JSON.parse('{"records":[{"type":"item","id":"a","data":{},"__proto__":{}}],"nextCursor":"1","remaining":0}'))).toBe(false);
    expect(isPlainPullResponse({ ...ok, records: [{ type: '', id: 'a', data: {} }] })).toBe(false);
    expect(isPlainPullResponse({ ...ok, records: [{ type: 'item', id: 'a', data: [] }] })).toBe(false);
    expect(isPlainPullResponse({ ...ok, nextCursor: (MAX_CURSOR + 1n).toString() })).toBe(false);
    expect(isPlainPullResponse({ ...ok, remaining: -1 })).toBe(false);
  });
});
