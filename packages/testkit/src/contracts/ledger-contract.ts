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
