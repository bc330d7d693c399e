import {
  ERROR_STATUS,
  isSyncErrorCode,
  pullRequestSchema,
  pushRequestSchema,
  siteInfoResponseSchema,
  SYNC_ERROR_CODES,
  SyncHttpError,
  syncRecordSchema,
} from '../src/index';

describe('wire schemas', () => {
  it('checks records: type and id required, id at most 200 characters, routing columns nullable', () => {
    expect(syncRecordSchema.safeParse({ type: 'item', id: 'i1', data: {} }).success).toBe(true);
    expect(syncRecordSchema.safeParse({ type: 'item', id: 'i1', storeId: null, homeStoreId: 'A', deleted: true, data: { a: 1 } }).success).toBe(true);
    expect(syncRecordSchema.safeParse({ type: '', id: 'i1', data: {} }).success).toBe(false);
    expect(syncRecordSchema.safeParse({ type: 'item', id: 'x'.repeat(201), data: {} }).success).toBe(false);
    expect(syncRecordSchema.safeParse({ type: 'item', id: 'i1' }).success).toBe(false);
    expect(syncRecordSchema.safeParse({ type: 'item', id: 'i1', data: [] }).success).toBe(false);
  });

  it('caps a push at 5000 records and a pull at 1..5000, with cursors as decimal strings up to 2^63 - 1', () => {
    const record = { type: 'item', id: 'i', data: {} };
    expect(pushRequestSchema.safeParse({ batchId: 'b', records: Array.from({ length: 5000 }, () => record) }).success).toBe(true);
    expect(pushRequestSchema.safeParse({ batchId: 'b', records: Array.from({ length: 5001 }, () => record) }).success).toBe(false);
    expect(pushRequestSchema.safeParse({ batchId: '', records: [] }).success).toBe(false);
    expect(pullRequestSchema.safeParse({ cursor: '9223372036854775807', limit: 5000 }).success).toBe(true); // 2^63 - 1
    for (const bad of [
      { cursor: '9223372036854775808', limit: 1 }, // 2^63: beyond every feed's int8 cursors
      { cursor: '18446744073709551615', limit: 1 },
      { cursor: '99999999999999999999', limit: 1 },
      { cursor: 1, limit: 1 },
      { cursor: '-1', limit: 1 },
      { cursor: '1e3', limit: 1 },
      { cursor: '0', limit: 0 },
      { cursor: '0', limit: 1.5 },
    ]) {
      expect(pullRequestSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('parses site info dates back to Date', () => {
    const parsed = siteInfoResponseSchema.parse({
      siteId: 2,
      stores: [{ storeId: 'B', syncType: 'active' }],
      omsCentralUrl: null,
      topology: {
        sites: [
          {
            id: 2,
            code: 'R1',
            name: 'Remote',
            roles: [],
            omsCentralUrl: null,
            deviceType: 'desktop',
            appName: null,
            appVersion: null,
            hardwareId: null,
            syncIntervalMinutes: 10,
            requestSize: 500,
            serverUrl: null,
            failedLoginCount: 0,
            blocked: false,
            lastSyncedAt: '2026-01-01T10:00:00.000Z',
          },
        ],
        stores: [],
      },
    });
    expect(parsed.topology!.sites[0]!.lastSyncedAt).toEqual(new Date('2026-01-01T10:00:00.000Z'));
  });
});

describe('error codes', () => {
  it('gives every code a status', () => {
    for (const code of SYNC_ERROR_CODES) expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
    expect(ERROR_STATUS.site_blocked).toBe(403);
    expect(ERROR_STATUS.api_version_incompatible).toBe(409);
    expect(isSyncErrorCode('site_blocked')).toBe(true);
    expect(isSyncErrorCode('nope')).toBe(false);
  });

  it('SyncHttpError carries code, status and data', () => {
    const error = SyncHttpError.of('record_refused', 'refused', [{ code: 'x' }]);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'SyncHttpError', code: 'record_refused', status: 422, message: 'refused', data: [{ code: 'x' }] });
  });
});
