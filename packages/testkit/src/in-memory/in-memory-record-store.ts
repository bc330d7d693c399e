import type { ChangeOrigin, RecordSelector, RecordStore, StoreId, SyncRecord } from '@sitesync/domain';
import { deepCopy } from './deep-copy';
import type { InMemoryState } from './in-memory-storage';

export class InMemoryRecordStore implements RecordStore {
  constructor(private readonly state: InMemoryState) {}

  get(type: string, id: string): Promise<SyncRecord | null> {
    const record = this.state.records.get(type)?.get(id);
    return Promise.resolve(record === undefined ? null : deepCopy(record));
  }

  /** One writer at a time here: the stored versions, as getMany. */
  lockMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]> {
    return this.getMany(keys);
  }

  getMany(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<readonly SyncRecord[]> {
    const found = new Map<string, SyncRecord>();
    for (const { type, id } of keys) {
      const record = this.state.records.get(type)?.get(id);
      if (record !== undefined) found.set(JSON.stringify([type, id]), record);
    }
    return Promise.resolve(deepCopy([...found.values()]));
  }

  upsert(records: readonly SyncRecord[], origin: ChangeOrigin): Promise<void> {
    // Copy everything first: a record that cannot be copied throws before anything is written.
    const stored = records.map((r) => deepCopy(r));
    const logged = records.map((r) => deepCopy(r));
    const { sourceSiteId, viaSync } = origin;
    const { state } = this;
    stored.forEach((record, i) => {
      let table = state.records.get(record.type);
      if (table === undefined) {
        table = new Map();
        state.records.set(record.type, table);
      }
      table.set(record.id, record);
      const key = JSON.stringify([record.type, record.id]);
      const previous = state.changeCursorByRecord.get(key);
      if (previous !== undefined) state.changes.delete(previous);
      state.lastCursor += 1n;
      const cursor = state.lastCursor;
      state.changes.set(cursor, { cursor, sourceSiteId, viaSync, record: logged[i]! });
      state.changeOrder.push(cursor);
      state.changeCursorByRecord.set(key, cursor);
    });
    // Drop the replaced cursors once they are as many as the entries: reading skips at most that many.
    if (state.changeOrder.length > 2 * state.changes.size + 64) {
      state.changeOrder = state.changeOrder.filter((cursor) => state.changes.has(cursor));
    }
    return Promise.resolve();
  }

  findByField(type: string, field: string, value: string | readonly string[]): Promise<readonly SyncRecord[]> {
    const values = new Set<unknown>(typeof value === 'string' ? [value] : value);
    const found = this.sorted(type).filter((r) => values.has(r.data[field]));
    return Promise.resolve(found.map((r) => deepCopy(r)));
  }

  list(type: string, options: { readonly afterId?: string; readonly limit: number }): Promise<readonly SyncRecord[]> {
    const { afterId } = options;
    const limit = Math.max(0, Math.floor(options.limit));
    const after = afterId === undefined ? this.sorted(type) : this.sorted(type).filter((r) => r.id > afterId);
    return Promise.resolve(after.slice(0, limit).map((r) => deepCopy(r)));
  }

  nextSerialNumber(storeId: StoreId, type: string): Promise<number> {
    const key = JSON.stringify([storeId, type]);
    const next = (this.state.serialNumbers.get(key) ?? 0) + 1;
    this.state.serialNumbers.set(key, next);
    return Promise.resolve(next);
  }

  raiseSerialNumber(storeId: StoreId, type: string, inUse: number): Promise<void> {
    const key = JSON.stringify([storeId, type]);
    this.state.serialNumbers.set(key, Math.max(this.state.serialNumbers.get(key) ?? 0, inUse));
    return Promise.resolve();
  }

  select(selector: RecordSelector, options: { readonly after?: Pick<SyncRecord, 'type' | 'id'>; readonly limit: number }): Promise<readonly SyncRecord[]> {
    const { storeIds, patientIds, types } = selector;
    const stores = storeIds ? new Set(storeIds) : null;
    const patients = patientIds ? new Set(patientIds) : null;
    const { after } = options;
    const limit = Math.max(0, Math.floor(options.limit));
    const out: SyncRecord[] = [];
    if (limit === 0) return Promise.resolve(out);
    for (const type of [...this.state.records.keys()].sort(compare)) {
      if (types && !types.includes(type)) continue;
      if (after && compare(type, after.type) < 0) continue;
      for (const r of this.sorted(type)) {
        if (after && type === after.type && compare(r.id, after.id) <= 0) continue;
        if (stores && ![r.storeId, r.otherPartyStoreId, r.homeStoreId].some((id) => id != null && stores.has(id))) continue;
        if (patients && !(r.patientId != null && patients.has(r.patientId))) continue;
        out.push({ ...deepCopy({ ...r, data: {} }) });
        if (out.length >= limit) return Promise.resolve(out);
      }
    }
    return Promise.resolve(out);
  }

  remove(keys: readonly Pick<SyncRecord, 'type' | 'id'>[]): Promise<void> {
    const { state } = this;
    for (const { type, id } of keys) {
      if (!state.records.get(type)?.delete(id)) continue;
      const key = JSON.stringify([type, id]);
      const cursor = state.changeCursorByRecord.get(key);
      if (cursor !== undefined) state.changes.delete(cursor);
      state.changeCursorByRecord.delete(key);
    }
    return Promise.resolve();
  }

  holdWrites(): Promise<void> {
    // units of work already run one at a time here
    return Promise.resolve();
  }

  /** The records of a type in id order (code-unit order, as a binary collation would sort them). */
  private sorted(type: string): SyncRecord[] {
    const table = this.state.records.get(type);
    if (table === undefined) return [];
    return [...table.values()].sort((a, b) => compare(a.id, b.id));
  }
}

/** Code-unit order, as a binary collation sorts. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
