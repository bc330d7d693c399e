import { describeStorageContract, rawRowOf, type RawProbe } from '../../src/contracts/index';
import { createInMemoryState, createInMemoryStorage, type InMemoryState } from '../../src/in-memory/index';

/** Reads the in-memory state directly, as a SQL adapter's probe reads its tables. */
function inMemoryProbe(state: InMemoryState): RawProbe {
  return {
    recordRow(type, id) {
      const record = state.records.get(type)?.get(id);
      return Promise.resolve(record === undefined ? null : rawRowOf(record));
    },
    recordCount() {
      let count = 0;
      for (const table of state.records.values()) count += table.size;
      return Promise.resolve(count);
    },
    consumerCursor(consumer) {
      return Promise.resolve(state.consumers.get(consumer) ?? null);
    },
    bufferedCount() {
      return Promise.resolve(state.buffered.size);
    },
    issueKeys() {
      return Promise.resolve([...state.issues.keys()].sort());
    },
  };
}

describeStorageContract({
  name: 'in-memory',
  open() {
    const state = createInMemoryState();
    const inMemory = createInMemoryStorage(state);
    return Promise.resolve({ unitOfWork: inMemory, storage: inMemory.storage, probe: inMemoryProbe(state), close: () => Promise.resolve() });
  },
});
