import { parsePushRequest, pushRequestSchema, SyncHttpError } from '@sitesync/http';
import fc from 'fast-check';

/** What the schema makes of a body: its value, or the problems it reports. */
function throughSchema(body: unknown): unknown {
  const parsed = pushRequestSchema.safeParse(body);
  return parsed.success ? { value: parsed.data } : { problems: parsed.error.issues.map((i) => [i.path.join('.'), i.message]) };
}

function throughParse(body: unknown): unknown {
  try {
    return { value: parsePushRequest(body) };
  } catch (error) {
    if (!(error instanceof SyncHttpError)) throw error;
    return { problems: (error.data as { path: string; message: string }[]).map((p) => [p.path, p.message]) };
  }
}

const text = fc.oneof(fc.string({ maxLength: 4 }), fc.constant(''), fc.constant('x'.repeat(201)), fc.constant('a\u0000b'), fc.constant('\uD800'));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const anyValue = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({ k: 1 }));
const record = fc
  .record({
    type: fc.oneof(text, anyValue),
    id: fc.oneof(text, anyValue),
    storeId: maybe(fc.oneof(text, fc.constant(null), anyValue)),
    otherPartyStoreId: maybe(fc.oneof(text, fc.constant(null))),
    patientId: maybe(fc.oneof(text, fc.constant(null), anyValue)),
    homeStoreId: maybe(fc.oneof(text, fc.constant(null))),
    deleted: maybe(fc.oneof(fc.boolean(), anyValue)),
    data: fc.oneof(fc.constant({ a: 1 }), fc.constant({}), anyValue),
    extra: maybe(anyValue),
  })
  .map((r) => JSON.parse(JSON.stringify(r)) as unknown);
const body = fc
  .record({
    batchId: fc.oneof(text, anyValue),
    records: fc.oneof(fc.array(record, { maxLength: 4 }), anyValue),
    more: maybe(fc.oneof(fc.boolean(), anyValue)),
    other: maybe(anyValue),
  })
  .map((b) => JSON.parse(JSON.stringify(b)) as unknown);

describe('parsePushRequest', () => {
  it('gives what the schema gives, for any body', () => {
    fc.assert(
      fc.property(fc.oneof(body, anyValue), (b) => {
        expect(throughParse(b)).toStrictEqual(throughSchema(b));
      }),
      { numRuns: 2_000 },
    );
  });

  it('takes a body that fits as it was parsed, without copying its records', () => {
    const records = [{ type: 'stock_line', id: 's1', storeId: 'D', patientId: null, deleted: false, data: { n: 1 } }];
    const parsed = parsePushRequest({ batchId: 'b1', records, more: false });
    expect(parsed).toEqual({ batchId: 'b1', records, more: false });
    expect(parsed.records[0]).toBe(records[0]);
  });

  it('drops fields the schema does not know, as the schema does (a "__proto__" key too)', () => {
    const parsed = parsePushRequest(JSON.parse('{"batchId":"b1","records":[{"type":"t","id":"i","data":{},"__proto__":{"x":1},"colour":"red"}]}'));
    expect(parsed.records[0]).toEqual({ type: 't', id: 'i', data: {} });
    expect(Object.keys(parsed.records[0]!)).not.toContain('colour');
  });
});
