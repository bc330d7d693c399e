import {
  buildTopology,
  connectionFieldsOf,
  siteFromInput,
  type SiteConnectionUpdate,
  type BufferedRecord,
  type Change,
  type ChangeFeed,
  type EncodedChange,
  type InboundBuffer,
  type IssueLog,
  type IssueReport,
  type IssueQuery,
  type PushReceipt,
  type RecordError,
  type RoutingCount,
  type RuleViolation,
  type Site,
  type SiteId,
  type SyncIssue,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type TopologyInput,
  type TopologyRepository,
  type UnitOfWork,
} from '@sitesync/domain';
import { deepCopy } from './deep-copy';
import { InMemoryPushLedger, InMemorySettingsStore } from './in-memory-settings';
import { InMemoryResyncQueue, type InMemoryResyncState } from './in-memory-resync-queue';
import { compare, InMemoryRecordStore } from './in-memory-record-store';

/**
 * Everything an in-memory installation stores, in one plain object that `structuredClone` can copy
 * (a unit of work snapshots it and puts it back if the work throws). The port classes below share
 * one of these and always reach their collections through it, never through a cached reference,
 * so that putting a snapshot back is seen by all of them.
 */
export interface InMemoryState {
  /** the saved topology as plain data (`Topology.toInput()`), null until saved */
  topology: TopologyInput | null;
  passwordHashes: Map<SiteId, string>;
  /** type -> id -> record */
  records: Map<string, Map<string, SyncRecord>>;
  /** JSON [storeId, type] -> the last serial number handed out */
  serialNumbers: Map<string, number>;
  /**
   * The change feed, one entry per record (its latest write): cursor -> change. A record written
   * again loses its entry and gets a new one with the next cursor.
   */
  changes: Map<bigint, Change>;
  /**
   * The cursors of the feed in increasing order, for reading from a cursor by binary search. It may
   * still hold cursors whose entry was replaced since (not in `changes`); they are skipped when
   * read, and dropped when they become as many as the entries.
   */
  changeOrder: bigint[];
  /** JSON [type, id] -> the cursor of the record's entry in the feed */
  changeCursorByRecord: Map<string, bigint>;
  /**
   * The last cursor handed out (0n when none). A unit of work that fails does not put it back, like
   * a database sequence: a cursor is never handed out twice.
   */
  lastCursor: bigint;
  /** consumer -> cursor */
  consumers: Map<string, bigint>;
  /** every batch id ever staged */
  stagedBatches: Set<string>;
  /** the seq of the last staged record (0n when none) */
  lastSeq: bigint;
  /** seq -> record not yet applied, in seq order */
  buffered: Map<bigint, BufferedRecord>;
  /** key -> open issue */
  issues: Map<string, SyncIssue>;
  /** JSON [siteId, batchId] -> what the central kept of a push batch */
  pushReceipts: Map<string, PushReceipt>;
  /** key -> a setting's value */
  settings: Map<string, unknown>;
  /** the saved topology's version (0n before the first save) */
  topologyVersion: bigint;
  /** site -> its resync queue */
  resync: Map<SiteId, InMemoryResyncState>;
}

/** An empty installation. */
export function createInMemoryState(): InMemoryState {
  return {
    topology: null,
    passwordHashes: new Map(),
    records: new Map(),
    serialNumbers: new Map(),
    changes: new Map(),
    changeOrder: [],
    changeCursorByRecord: new Map(),
    lastCursor: 0n,
    consumers: new Map(),
    stagedBatches: new Set(),
    lastSeq: 0n,
    buffered: new Map(),
    issues: new Map(),
    pushReceipts: new Map(),
    settings: new Map(),
    topologyVersion: 0n,
    resync: new Map(),
  };
}

/** The in-memory storage: `storage` applies each call at once; `run` applies a unit of work atomically. */
export interface InMemoryStorage extends UnitOfWork {
  /** the non-transactional view: each call applies at once */
  readonly storage: SyncStorage;
}

/**
 * Storage for tests and the demo, with the semantics of the real ports: records are copied on the
 * way in and out, each upserted record moves to the end of the change feed with a new cursor, and
 * `run` is all-or-nothing.
 *
 * `run` serializes units of work (one at a time, in call order), snapshots the whole state before
 * each one and puts the snapshot back if the work throws. Two consequences, as with a database
 * holding one big lock: a `run` started inside another `run` waits for the outer one and so never
 * finishes (do not nest them); and writes made through `storage` while a unit of work is running
 * are lost if that unit of work fails.
 *
 * `state` is what the storage keeps (a new, empty one when absent): a caller that passes its own can
 * look at it directly, as the in-memory storage contract's probe does. A failed unit of work puts
 * the snapshot back into that same object, so the caller's reference stays valid.
 */
export function createInMemoryStorage(state: InMemoryState = createInMemoryState()): InMemoryStorage {
  const storage: SyncStorage = {
    topology: new InMemoryTopologyRepository(state),
    records: new InMemoryRecordStore(state),
    changes: new InMemoryChangeFeed(state),
    inbound: new InMemoryInboundBuffer(state),
    issues: new InMemoryIssueLog(state),
    pushes: new InMemoryPushLedger(state),
    settings: new InMemorySettingsStore(state),
    resync: new InMemoryResyncQueue(state),
  };
  // The tail of the queue of units of work; it never rejects, so one failure does not block the rest.
  let tail: Promise<void> = Promise.resolve();

  const runNow = async <T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> => {
    const snapshot = deepCopy(state);
    try {
      return await work(storage);
    } catch (error) {
      const { lastCursor } = state;
      Object.assign(state, snapshot);
      state.lastCursor = lastCursor;
      throw error;
    }
  };

  return {
    storage,
    run<T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> {
      const result = tail.then(() => runNow(work));
      tail = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
  };
}

export class InMemoryTopologyRepository implements TopologyRepository {
  constructor(private readonly state: InMemoryState) {}

  load(): Promise<Topology | null> {
    const input = this.state.topology;
    if (input === null) return Promise.resolve(null);
    const built = buildTopology(deepCopy(input));
    if (!built.ok) {
      const problems = built.error.map((v) => `${v.code}: ${v.message}`).join('\n');
      return Promise.reject(new Error(`the stored topology breaks topology rules:\n${problems}`));
    }
    return Promise.resolve(built.value);
  }

  /** A site that stays keeps its stored connection fields (`updateSite` writes those). */
  save(topology: Topology): Promise<void> {
    const before = new Map((this.state.topology?.sites ?? []).map((s) => [s.id, siteFromInput(s)]));
    const input = deepCopy(topology.toInput());
    const sites = input.sites.map((site) => {
      const stored = before.get(site.id);
      return stored ? { ...site, ...deepCopy(connectionFieldsOf(stored)) } : site;
    });
    this.state.topology = { ...input, sites };
    this.state.topologyVersion += 1n;
    return Promise.resolve();
  }

  version(): Promise<bigint> {
    return Promise.resolve(this.state.topologyVersion);
  }

  /** One unit of work at a time already: nothing else can hold the topology. */
  lock(): Promise<void> {
    return Promise.resolve();
  }

  site(siteId: SiteId): Promise<Site | null> {
    const input = this.state.topology?.sites.find((s) => s.id === siteId);
    return Promise.resolve(input ? siteFromInput(deepCopy(input)) : null);
  }

  updateSite(siteId: SiteId, fields: SiteConnectionUpdate, options: { readonly ifUnchanged?: SiteConnectionUpdate } = {}): Promise<boolean> {
    const input = this.state.topology;
    const stored = input?.sites.find((s) => s.id === siteId);
    if (input === null || stored === undefined) return Promise.resolve(false);
    const site = siteFromInput(stored);
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    if (Object.entries(options.ifUnchanged ?? {}).some(([field, value]) => !same(site[field as keyof Site], value))) return Promise.resolve(false);
    this.state.topology = { ...input, sites: input.sites.map((s) => (s.id === siteId ? { ...s, ...deepCopy(fields) } : s)) };
    return Promise.resolve(true);
  }

  passwordHash(siteId: SiteId): Promise<string | null> {
    return Promise.resolve(this.state.passwordHashes.get(siteId) ?? null);
  }

  setPasswordHash(siteId: SiteId, hash: string): Promise<void> {
    this.state.passwordHashes.set(siteId, hash);
    return Promise.resolve();
  }
}

export class InMemoryChangeFeed implements ChangeFeed {
  constructor(private readonly state: InMemoryState) {}

  read(after: bigint, limit: number): Promise<readonly Change[]> {
    const count = Math.max(0, Math.floor(limit));
    const { changes, changeOrder } = this.state;
    const found: Change[] = [];
    for (let i = firstAfter(changeOrder, after); i < changeOrder.length && found.length < count; i += 1) {
      const change = changes.get(changeOrder[i]!);
      if (change !== undefined) found.push(change);
    }
    return Promise.resolve(deepCopy(found));
  }

  async scan(after: bigint, limit: number): Promise<readonly Change[]> {
    return (await this.read(after, limit)).map((change) => ({ ...change, record: { ...change.record, data: {} } }));
  }

  async readEncoded(after: bigint, limit: number): Promise<readonly EncodedChange[]> {
    return (await this.read(after, limit)).map((change) => ({
      ...change,
      record: { ...change.record, data: {} },
      dataJson: JSON.stringify(change.record.data),
    }));
  }

  countByRouting(after: bigint, upTo: bigint): Promise<readonly RoutingCount[]> {
    const { changes, changeOrder } = this.state;
    const groups = new Map<string, { -readonly [K in keyof RoutingCount]: RoutingCount[K] }>();
    for (let i = firstAfter(changeOrder, after); i < changeOrder.length && changeOrder[i]! <= upTo; i += 1) {
      const change = changes.get(changeOrder[i]!);
      if (change === undefined) continue;
      const { type, storeId = null, otherPartyStoreId = null, patientId = null, homeStoreId = null } = change.record;
      const group = { type, storeId, otherPartyStoreId, patientId, homeStoreId, sourceSiteId: change.sourceSiteId };
      const key = JSON.stringify(group);
      const known = groups.get(key);
      if (known) known.count += 1;
      else groups.set(key, { ...group, count: 1 });
    }
    return Promise.resolve([...groups.values()]);
  }

  head(): Promise<bigint> {
    // The last cursor handed out to a record, as the SQL engines keep it (its entry may have been replaced or removed since).
    const { changeOrder } = this.state;
    return Promise.resolve(changeOrder[changeOrder.length - 1] ?? 0n);
  }

  cursorOf(consumer: string): Promise<bigint> {
    return Promise.resolve(this.state.consumers.get(consumer) ?? 0n);
  }

  /** Units of work run one at a time here: nothing else can hold the consumer. */
  claim(consumer: string): Promise<bigint> {
    return this.cursorOf(consumer);
  }

  advance(consumer: string, cursor: bigint): Promise<void> {
    const current = this.state.consumers.get(consumer) ?? 0n;
    if (cursor < current) {
      return Promise.reject(new Error(`change feed: consumer "${consumer}" is at cursor ${current}; it cannot move back to ${cursor}`));
    }
    this.state.consumers.set(consumer, cursor);
    return Promise.resolve();
  }
}

export class InMemoryInboundBuffer implements InboundBuffer {
  constructor(private readonly state: InMemoryState) {}

  stage(batchId: string, sourceSiteId: SiteId, records: readonly SyncRecord[]): Promise<{ readonly staged: number; readonly duplicate: boolean }> {
    const { state } = this;
    if (state.stagedBatches.has(batchId)) return Promise.resolve({ staged: 0, duplicate: true });
    const copies = records.map((r) => deepCopy(r));
    state.stagedBatches.add(batchId);
    for (const record of copies) {
      state.lastSeq += 1n;
      state.buffered.set(state.lastSeq, { seq: state.lastSeq, batchId, sourceSiteId, record, attempts: 0, lastError: null });
    }
    return Promise.resolve({ staged: copies.length, duplicate: false });
  }

  pending(limit: number): Promise<readonly BufferedRecord[]> {
    const count = Math.max(0, Math.floor(limit));
    return Promise.resolve(deepCopy(this.inSeqOrder().slice(0, count)));
  }

  markApplied(seqs: readonly bigint[]): Promise<void> {
    for (const seq of seqs) this.state.buffered.delete(seq);
    return Promise.resolve();
  }

  markFailed(seq: bigint, error: RecordError): Promise<void> {
    const record = this.state.buffered.get(seq);
    if (record === undefined) {
      return Promise.reject(new Error(`inbound buffer: no pending record with seq ${seq} (never staged, or already applied)`));
    }
    this.state.buffered.set(seq, { ...record, attempts: record.attempts + 1, lastError: deepCopy(error) });
    return Promise.resolve();
  }

  failures(): Promise<readonly BufferedRecord[]> {
    return Promise.resolve(deepCopy(this.inSeqOrder().filter((r) => r.lastError !== null)));
  }

  private inSeqOrder(): BufferedRecord[] {
    return [...this.state.buffered.values()].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  }
}

export class InMemoryIssueLog implements IssueLog {
  constructor(private readonly state: InMemoryState) {}

  report(key: string, violation: RuleViolation, at: Date, options: IssueReport = {}): Promise<void> {
    const existing = this.state.issues.get(key);
    const seen = new Date(at.getTime());
    const count = options.count ?? 1;
    const subject = options.subject !== undefined ? deepCopy(options.subject) : (existing?.subject ?? null);
    this.state.issues.set(
      key,
      existing === undefined
        ? { key, violation: deepCopy(violation), firstSeenAt: seen, lastSeenAt: seen, occurrences: count, subject, acknowledgedAt: null, acknowledgedBy: null }
        : { ...existing, violation: deepCopy(violation), lastSeenAt: seen, occurrences: existing.occurrences + count, subject },
    );
    return Promise.resolve();
  }

  acknowledge(key: string, at: Date, by: string): Promise<boolean> {
    const existing = this.state.issues.get(key);
    if (!existing) return Promise.resolve(false);
    this.state.issues.set(key, { ...existing, acknowledgedAt: new Date(at.getTime()), acknowledgedBy: by });
    return Promise.resolve(true);
  }

  get(key: string): Promise<SyncIssue | null> {
    const issue = this.state.issues.get(key);
    return Promise.resolve(issue ? deepCopy(issue) : null);
  }

  resolve(key: string): Promise<void> {
    this.state.issues.delete(key);
    return Promise.resolve();
  }

  resolveMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.state.issues.delete(key);
    return Promise.resolve();
  }

  open(query: IssueQuery = {}): Promise<readonly SyncIssue[]> {
    const { prefix = '', afterKey, limit, code, acknowledged } = query;
    const issues = [...this.state.issues.values()]
      .filter((i) => i.key.startsWith(prefix) && (afterKey === undefined || i.key > afterKey))
      .filter((i) => (code === undefined || i.violation.code === code) && (acknowledged === undefined || (i.acknowledgedAt !== null) === acknowledged))
      .sort((a, b) => compare(a.key, b.key))
      .slice(0, limit ?? Number.MAX_SAFE_INTEGER);
    return Promise.resolve(deepCopy(issues));
  }

  trim(prefix: string, keep: number): Promise<number> {
    const matching = [...this.state.issues.values()]
      .filter((i) => i.key.startsWith(prefix))
      .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime() || compare(b.key, a.key));
    const dropped = matching.slice(Math.max(0, keep));
    for (const issue of dropped) this.state.issues.delete(issue.key);
    return Promise.resolve(dropped.length);
  }
}

/** The index of the first cursor greater than `after` in increasing `cursors` (their length if none). */
function firstAfter(cursors: readonly bigint[], after: bigint): number {
  let low = 0;
  let high = cursors.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cursors[middle]! <= after) low = middle + 1;
    else high = middle;
  }
  return low;
}
