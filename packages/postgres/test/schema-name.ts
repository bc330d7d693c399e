let counter = 0;
/** A schema name unique to this test process. */
export function freshSchemaName(): string {
  return `sitesync_test_${process.pid}_${Date.now().toString(36)}_${++counter}`;
}
