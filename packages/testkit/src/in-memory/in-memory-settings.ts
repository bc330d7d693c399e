import type { PushLedger, PushReceipt, PushResult, SettingsStore, SiteId } from '@sitesync/domain';
import { deepCopy } from './deep-copy';

/** The state these ports keep (a part of `InMemoryState`). */
interface SettingsState {
  pushReceipts: Map<string, PushReceipt>;
  settings: Map<string, unknown>;
}

export class InMemoryPushLedger implements PushLedger {
  constructor(private readonly state: SettingsState) {}

  claim(siteId: SiteId, batchId: string, digest: string): Promise<PushReceipt | null> {
    const key = JSON.stringify([siteId, batchId]);
    const kept = this.state.pushReceipts.get(key);
    if (kept) return Promise.resolve(deepCopy(kept));
    this.state.pushReceipts.set(key, { digest, answer: null });
    return Promise.resolve(null);
  }

  settle(siteId: SiteId, batchId: string, answer: PushResult): Promise<void> {
    const key = JSON.stringify([siteId, batchId]);
    const kept = this.state.pushReceipts.get(key);
    if (!kept) return Promise.reject(new Error(`push ledger: batch "${batchId}" of site ${siteId} was never claimed`));
    this.state.pushReceipts.set(key, { digest: kept.digest, answer: deepCopy(answer) });
    return Promise.resolve();
  }
}

export class InMemorySettingsStore implements SettingsStore {
  constructor(private readonly state: SettingsState) {}

  get(key: string): Promise<unknown> {
    return Promise.resolve(this.state.settings.has(key) ? deepCopy(this.state.settings.get(key)) : null);
  }

  set(key: string, value: unknown): Promise<void> {
    this.state.settings.set(key, deepCopy(value));
    return Promise.resolve();
  }
}
