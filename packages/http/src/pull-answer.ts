import type { EncodedPullResult, EncodedRecord } from '@sitesync/domain';

/**
 * The JSON body of a pull answer (`pullResponseSchema`), each record's data spliced in as the JSON
 * text the storage keeps: the data of thousands of records is not parsed and encoded again.
 */
export function pullAnswerJson(result: EncodedPullResult): string {
  const rest = JSON.stringify({
    nextCursor: result.nextCursor.toString(),
    remaining: result.remaining,
    ...(result.nextQueueCursor !== undefined ? { drops: result.drops ?? [], nextQueueCursor: result.nextQueueCursor.toString() } : {}),
  });
  return `{"records":[${result.records.map(recordJson).join(',')}],${rest.slice(1)}`;
}

/** A record as JSON, its data the text it came with. */
function recordJson({ record, dataJson }: EncodedRecord): string {
  const { data, ...columns } = record;
  void data;
  // `columns` holds at least the type and the id: its JSON ends with the closing brace
  return `${JSON.stringify(columns).slice(0, -1)},"data":${dataJson}}`;
}
