import type { PushResult, SyncStorage, UnitOfWork } from '@sitesync/domain';
import type * as JestGlobals from '@jest/globals';

declare const require: (id: '@jest/globals') => typeof JestGlobals;

/** The storage as the push-ledger and settings contract needs it (a fresh, empty one per test). */
export interface LedgerContractContext {
  storage(): SyncStorage;
  unitOfWork(): UnitOfWork;
}

const answer = (batchId: string, accepted: number): PushResult => ({
  batchId,
  accepted,
  refused: [{ recordType: 'stock_line', recordId: 'sl-\u0000-1', code: 'record.invalid-text', message: 'holds \\u0000', fix: 'correct it' }],
});

/**
 * The contract of the push ledger and the settings store, declared inside `describeStorageContract`
 * so that every adapter runs it unchanged.
 */
export function describeLedgerContract(context: LedgerContractContext): void {
  const { describe, it, expect } = require('@jest/globals');

  describe('push ledger', () => {
    it('claims a batch id once per site: later claims get the digest and the settled answer, exactly', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      const first = await context.unitOfWork().run(async (s) => {
        const claimed = await s.pushes.claim(2, 'file-a:0-10', 'digest-1', at);
        await s.pushes.settle(2, 'file-a:0-10', answer('file-a:0-10', 9));
        return claimed;
      });
      expect(first).toBeNull();

      expect(await context.storage().pushes.claim(2, 'file-a:0-10', 'digest-2', at)).toEqual({ digest: 'digest-1', answer: answer('file-a:0-10', 9) });
      // The same id from another site is another batch.
      expect(await context.storage().pushes.claim(3, 'file-a:0-10', 'digest-3', at)).toBeNull();
    });

    it('forgets a claim whose unit of work failed', async () => {
      await expect(
        context.unitOfWork().run(async (s) => {
          await s.pushes.claim(2, 'b-1', 'digest-1', new Date());
          throw new Error('the push failed before it was answered');
        }),
      ).rejects.toThrow('the push failed');
      expect(await context.storage().pushes.claim(2, 'b-1', 'digest-1', new Date())).toBeNull();
    });

    it('refuses to settle a batch never claimed', async () => {
      await expect(context.storage().pushes.settle(2, 'never', answer('never', 0))).rejects.toThrow(/never claimed/);
    });
  });

  describe('issue log: queries, bulk resolve, bounded size', () => {
    const violation = (n: number) => ({ code: 'edit.store-not-active-here', rule: 'r', message: `refusal ${n}`, fix: 'f' });

    it('lists by key prefix a page at a time, resolves many at once, and counts occurrences given at once', async () => {
      const { issues } = context.storage();
      const at = new Date('2026-03-01T00:00:00.000Z');
      for (const key of ['quarantine:2:a', 'quarantine:2:b', 'quarantine:20:a', 'quarantine:3:a', 'transfer:x']) await issues.report(key, violation(1), at);
      await issues.report('quarantine:2:b', violation(2), at, { count: 5 });
      expect((await issues.open({ prefix: 'quarantine:2:' })).map((i) => [i.key, i.occurrences])).toEqual([
        ['quarantine:2:a', 1],
        ['quarantine:2:b', 6],
      ]);
      expect((await issues.open({ prefix: 'quarantine:', afterKey: 'quarantine:20:a', limit: 2 })).map((i) => i.key)).toEqual([
        'quarantine:2:a',
        'quarantine:2:b',
      ]);
      await issues.resolveMany(['quarantine:2:a', 'quarantine:3:a', 'never-opened']);
      expect((await issues.open()).map((i) => i.key)).toEqual(['quarantine:20:a', 'quarantine:2:b', 'transfer:x']);
      await issues.resolveMany([]);
    });

    it('keeps the refused record, filters by code and acknowledgement, and keeps an acknowledgement through re-reports', async () => {
      const { issues } = context.storage();
      const at = new Date('2026-03-01T00:00:00.000Z');
      const record = { type: 'transaction', id: 'inv-1', storeId: 'S1', data: { nested: { n: 1 }, list: [1, 'a'] } };
      await issues.report('quarantine:2:transaction:inv-1', violation(1), at, { subject: record });
      await issues.report('transfer:x', { ...violation(2), code: 'transfer.store-has-no-copy' }, at);
      expect(await issues.get('quarantine:2:transaction:inv-1')).toMatchObject({ subject: record, acknowledgedAt: null, acknowledgedBy: null });
      expect(await issues.get('transfer:x')).toMatchObject({ subject: null });
      expect(await issues.get('never')).toBeNull();
      expect((await issues.open({ code: 'transfer.store-has-no-copy' })).map((i) => i.key)).toEqual(['transfer:x']);

      const later = new Date('2026-03-02T00:00:00.000Z');
      expect(await issues.acknowledge('transfer:x', later, 'token-1')).toBe(true);
      expect(await issues.acknowledge('never', later, 'token-1')).toBe(false);
      expect((await issues.open({ acknowledged: true })).map((i) => [i.key, i.acknowledgedAt?.toISOString(), i.acknowledgedBy])).toEqual([
        ['transfer:x', later.toISOString(), 'token-1'],
      ]);
      expect((await issues.open({ acknowledged: false })).map((i) => i.key)).toEqual(['quarantine:2:transaction:inv-1']);
      // seen again: still acknowledged, counted; a report without a record keeps the one kept
      await issues.report('transfer:x', { ...violation(3), code: 'transfer.store-has-no-copy' }, later);
      await issues.report('quarantine:2:transaction:inv-1', violation(4), later, { count: 0 });
      expect(await issues.get('transfer:x')).toMatchObject({ acknowledgedBy: 'token-1', occurrences: 2 });
      expect(await issues.get('quarantine:2:transaction:inv-1')).toMatchObject({ subject: record, occurrences: 1, violation: violation(4) });
    });

    it('takes a prefix literally: no wildcard, no collation', async () => {
      const { issues } = context.storage();
      const at = new Date();
      for (const key of ['q:a_b:1', 'q:axb:1', 'q:A_B:1', 'q:a%:1']) await issues.report(key, violation(1), at);
      expect((await issues.open({ prefix: 'q:a_b:' })).map((i) => i.key)).toEqual(['q:a_b:1']);
      expect((await issues.open({ prefix: 'q:a%' })).map((i) => i.key)).toEqual(['q:a%:1']);
    });

    it('trims a prefix to the most recently seen issues and says how many it closed', async () => {
      const { issues } = context.storage();
      for (let i = 0; i < 6; i++) await issues.report(`quarantine:2:r${i}`, violation(i), new Date(Date.UTC(2026, 0, 1, 0, i)));
      await issues.report('quarantine:3:other', violation(9), new Date(Date.UTC(2025, 0, 1)));
      expect(await issues.trim('quarantine:2:', 4)).toBe(2);
      expect((await issues.open({ prefix: 'quarantine:2:' })).map((i) => i.key)).toEqual([
        'quarantine:2:r2',
        'quarantine:2:r3',
        'quarantine:2:r4',
        'quarantine:2:r5',
      ]);
      expect((await issues.open({ prefix: 'quarantine:3:' })).length).toBe(1);
      expect(await issues.trim('quarantine:2:', 4)).toBe(0);
    });
  });

  describe('settings store', () => {
    it('keeps JSON values by key, replaces them, and answers null for a key never set', async () => {
      const { settings } = context.storage();
      expect(await settings.get('remote-site')).toBeNull();
      await settings.set('remote-site', { siteId: 2, passwordSha256: 'ab'.repeat(32), nested: { list: [1, 'two', null, true] } });
      await settings.set('sync.push-namespace', 'file-1');
      expect(await settings.get('remote-site')).toEqual({ siteId: 2, passwordSha256: 'ab'.repeat(32), nested: { list: [1, 'two', null, true] } });
      await settings.set('sync.push-namespace', 'file-2');
      expect(await settings.get('sync.push-namespace')).toBe('file-2');
    });

    it('keeps settings out of the records and the change feed', async () => {
      const storage = context.storage();
      await storage.settings.set('remote-site', { secret: 'x' });
      expect(await storage.changes.head()).toBe(0n);
      expect(await storage.records.list('preference', { limit: 10 })).toEqual([]);
    });

    it('puts a setting back when its unit of work fails', async () => {
      await context.storage().settings.set('k', 1);
      await expect(
        context.unitOfWork().run(async (s) => {
          await s.settings.set('k', 2);
          throw new Error('failed');
        }),
      ).rejects.toThrow('failed');
      expect(await context.storage().settings.get('k')).toBe(1);
    });
  });
}
