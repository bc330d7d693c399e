import type { SyncRecord } from '../record';
import type { Result } from '../result';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import { isPushConflict, type Clock, type PullRequest, type PullResult, type PushBatch, type PushOutcome } from '../ports/services';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import { withStoresCreatedOnPrimary } from '../rules/store-creation';
import { acceptPush } from './central-push';
import { decodeRecord, PullServer, type EncodedPullResult } from './pull-server';
import { recordLocalChange, type LocalChangeRefusal, type RecordedChange } from './record-local-change';
import { isRetryable, notRetryable, quarantinedSiteOf, retryQuarantined, type IssueRetry } from './retry-issue';
import { concernsProcessors } from './processor-interests';
import { runSiteProcessors, type ProcessorReport } from './run-site-processors';
import type { ScopeChangeReport } from './scope-changes';
import type { SyncChannel } from '../sync-channel';

/**
 * A change of the whole topology, given the topology as stored now and the unit of work it runs in
 * (every read and write of the change goes through that `storage`): the topology to keep (null:
 * nothing changed) and what to answer.
 */
export type TopologyChange<T> = (topology: Topology, storage: SyncStorage) => Promise<{ readonly next: Topology | null; readonly value: T }>;

/**
 * The central's topology as the application keeps it (the HTTP layer's `TopologyCache`), correct
 * with several central processes on one database:
 * - `load` / `current(storage)`: the topology of the saved version (a cache compared with
 *   `TopologyRepository.version`); the connection fields of its sites (last sync, failed logins...)
 *   may be older than stored, and no routing rule reads them;
 * - `fresh`: every field as stored now, for what is shown and for the login decision;
 * - `change`: saves a new topology and applies it to data (`saveTopologyChange`), `exclusive` runs
 *   work that saves what it changed itself; each in one unit of work holding the topology lock
 *   (`TopologyRepository.lock`), so changes from any process run one at a time, each on the
 *   topology the previous one saved.
 * (Named apart from pull-server's `TopologySource`, the function the pull and the export read the
 * topology with.)
 */
export interface CentralTopologySource {
  load(): Promise<Topology>;
  current(storage: SyncStorage): Promise<Topology>;
  fresh(): Promise<Topology>;
  /** The topology this process last read, without asking the database (null before any): for a lookup that is checked against the database after (a login's site by name), or a label. */
  lastKnown(): Topology | null;
  change<T>(change: TopologyChange<T>): Promise<{ readonly value: T; readonly scope: ScopeChangeReport | null }>;
  exclusive<T>(work: TopologyChange<T>): Promise<T>;
}

/** Runs something later (the app: `setTimeout`, unref'd); `cancel` stops it if it has not run. */
export interface RetryScheduler {
  schedule(run: () => void, ms: number): { cancel(): void };
}

/** What made the central run its processors. */
export type ProcessingReason = 'start' | 'push' | 'records' | 'topology' | 'retry';

export interface CentralServiceDeps {
  readonly unitOfWork: UnitOfWork & { readonly storage: SyncStorage };
  readonly clock: Clock;
  readonly topologies: CentralTopologySource;
  /**
   * the data this service syncs: `central` (default) the mSupply central's, `oms-central` the Open
   * mSupply central server's types (a push of the other's is refused with `push.other-server`)
   */
  readonly channel?: SyncChannel;
  /**
   * for a central whose topology comes from elsewhere (the Open mSupply central server's, from the
   * mSupply central): takes the current one before a push is checked, so that records of a store a
   * site was just given are not refused for a topology not learnt yet (a failure leaves the held one)
   */
  readonly refreshTopology?: () => Promise<void>;
  /** runs the retry of failed processing; without it a failed run waits for the next write */
  readonly scheduler?: RetryScheduler;
  /**
   * after each processing run that succeeded (whether or not it did anything); `lagMs` is how long
   * after the earliest write it covers it ended (by `clock`: from the call that asked for processing,
   * a deferred push's or a failed run's included, to the end of the run), the central's processor lag
   */
  readonly onProcessed?: (report: ProcessorReport, reason: ProcessingReason, lagMs: number) => void;
  /** after each processing run that failed; `retryInMs` is the delay of the retry it scheduled, null when it scheduled none */
  readonly onProcessingFailed?: (error: unknown, retryInMs: number | null) => void;
}

/**
 * The settings key a push that said more would follow sets: the central's processing is owed. Every
 * central process's next pull reads it (the push and the pull may reach different processes).
 */
export const PROCESSING_OWED_KEY = 'central-processing-owed';

const FIRST_RETRY_MS = 1_000;
/** The longest a push that said more would follow waits for its processing when no later batch or pull comes. */
const DEFERRED_MS = 5_000;
const MAX_RETRY_MS = 60_000;

/**
 * The central application service: every write on the central goes through it (a remote's push,
 * an admin's records, a change of the topology), and each is followed by the central's processors
 * (`runSiteProcessors` for the central site), so that a transfer the write made possible is
 * completed before the write is answered. Processing never fails the write (it is stored): a
 * failed run is reported and retried with backoff through the scheduler.
 */
export class CentralService {
  readonly topologies: CentralTopologySource;
  private running: Promise<ProcessorReport | null> | null = null;
  private next: Promise<ProcessorReport | null> | null = null;
  private nextReason: ProcessingReason = 'start';
  private retry: { cancel(): void } | null = null;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;
  /** a push said more would follow: its processing is owed */
  private deferred = false;
  private deferredRun: { cancel(): void } | null = null;
  /** when the earliest write no run has started to cover asked for processing (for `lagMs`) */
  private owedSince: number | null = null;
  private readonly pulls = new PullServer();

  constructor(private readonly deps: CentralServiceDeps) {
    this.topologies = deps.topologies;
  }

  /**
   * A push of `siteId`: `acceptPush` in one unit of work with the current topology, then, when it
   * stored records (not a replay), the processors. `stored` is called with the outcome once it is
   * committed, before the processing (the HTTP layer logs the push there).
   */
  async push(siteId: SiteId, batch: PushBatch, stored?: (outcome: PushOutcome) => void, options: { readonly more?: boolean } = {}): Promise<PushOutcome> {
    const { unitOfWork, clock } = this.deps;
    await this.deps.refreshTopology?.().catch(() => undefined);
    if (batch.records.some((r) => r.type === 'store')) await this.addStoresCreatedOnPrimary(siteId, batch);
    const outcome = await unitOfWork.run(async (s) => acceptPush(s, await this.topologies.current(s), siteId, batch, clock.now(), this.deps.channel));
    stored?.(outcome);
    if (isPushConflict(outcome) || outcome.replayed === true) return outcome;
    // Only a batch with transfer documents or goods receipts gives the processors work; the others
    // are passed over by the next run. A site that says more batches follow in this cycle has its
    // transfers completed once, with its last batch (or before any site's next pull, or after
    // DEFERRED_MS if it never comes): not after each of its batches, which would re-read the same
    // half-arrived documents many times.
    const concerns = outcome.accepted > 0 && batch.records.some(concernsProcessors);
    if (options.more === true) {
      if (!concerns) return outcome;
      if ((await unitOfWork.storage.settings.get(PROCESSING_OWED_KEY)) !== true) await unitOfWork.storage.settings.set(PROCESSING_OWED_KEY, true);
      this.defer();
    } else if (concerns || this.deferred) await this.processQuietly('push'); // owed by another process: its site's pull processes it
    return outcome;
  }

  /**
   * A site's pull: processing a push deferred (by this process or another one sharing the database)
   * runs first, so the answer includes what it writes; then the pull (resync queue, then feed) in
   * one unit of work with the current topology.
   */
  async pull(siteId: SiteId, request: PullRequest): Promise<PullResult> {
    const answer = await this.pullEncoded(siteId, request);
    return { ...answer, records: answer.records.map(decodeRecord) };
  }

  /** `pull`, with the records' data as JSON text as stored (`EncodedPullResult`): what the HTTP API sends on. */
  async pullEncoded(siteId: SiteId, request: PullRequest): Promise<EncodedPullResult> {
    if (await this.processingOwed()) await this.processQuietly('push');
    return this.deps.unitOfWork.run((s) => this.pulls.pullEncoded(s, (inside) => this.topologies.current(inside), siteId, request));
  }

  /** Whether a push that said more would follow left processing owed, to this process or (in the database) to any. */
  private async processingOwed(): Promise<boolean> {
    return this.deferred || (await this.deps.unitOfWork.storage.settings.get(PROCESSING_OWED_KEY)) === true;
  }

  /**
   * Mirrored sync: the stores a mirrored primary created (its `store` records naming stores the
   * central does not know) join the topology before its push is checked, active on the primary
   * with a collector copy on the central, for an admin to assign their site (`store move`).
   */
  private async addStoresCreatedOnPrimary(siteId: SiteId, batch: PushBatch): Promise<void> {
    await this.topologies.change(async (topology) => ({ next: withStoresCreatedOnPrimary(topology, siteId, batch.records), value: null }));
  }

  /** Processing owed to a push that said more would follow: a flag the next run clears, and a run at the latest after DEFERRED_MS. */
  private defer(): void {
    this.deferred = true;
    this.owedSince ??= this.deps.clock.now().getTime();
    const { scheduler } = this.deps;
    if (!scheduler || this.closed || this.deferredRun) return;
    this.deferredRun = scheduler.schedule(() => {
      this.deferredRun = null;
      if (this.deferred) this.process('push').catch(() => undefined); // reported by runOnce, and retried
    }, DEFERRED_MS);
  }

  /** Records written on the central itself (`recordLocalChange` on the central site), then the processors. */
  async writeRecords(records: readonly SyncRecord[]): Promise<Result<RecordedChange, readonly LocalChangeRefusal[]>> {
    const topology = await this.topologies.load();
    const result = await recordLocalChange({ unitOfWork: this.deps.unitOfWork }, topology, topology.central.id, records);
    if (result.ok) await this.processQuietly('records');
    return result;
  }

  /** A change of the topology (`CentralTopologySource.change`), then the processors: a transfer refused for the configuration is retried at once. */
  async changeTopology<T>(change: TopologyChange<T>): Promise<{ readonly value: T; readonly scope: ScopeChangeReport | null }> {
    const changed = await this.topologies.change(change);
    await this.processQuietly('topology');
    return changed;
  }

  /** Work under the topology lock (`CentralTopologySource.exclusive`), then the processors when it changed the topology. */
  async exclusiveTopology<T>(work: TopologyChange<T>): Promise<T> {
    let changed = false;
    const value = await this.topologies.exclusive(async (topology, storage) => {
      const done = await work(topology, storage);
      changed = done.next !== null;
      return done;
    });
    if (changed) await this.processQuietly('topology');
    return value;
  }

  /**
   * An admin retries an issue: a refused record is checked again as a push of its site now (and the
   * processors run when it was stored); any other retryable issue (a transfer, a number) is retried
   * by running the processors, after which it is resolved or still open.
   */
  async retryIssue(key: string): Promise<IssueRetry> {
    const { unitOfWork, clock } = this.deps;
    const issue = await unitOfWork.storage.issues.get(key);
    if (!issue) return { key, outcome: 'not-found' };
    if (!isRetryable(issue)) return { key, outcome: 'not-retryable', violation: notRetryable(issue) };
    if (quarantinedSiteOf(key) !== null) {
      const retried = await unitOfWork.run(async (s) => retryQuarantined(s, await this.topologies.current(s), key, clock.now()));
      if (retried.outcome === 'resolved') await this.processQuietly('records');
      return retried;
    }
    await this.processQuietly('retry');
    const after = await unitOfWork.storage.issues.get(key);
    return after ? { key, outcome: 'still-open', violation: after.violation } : { key, outcome: 'resolved' };
  }

  /**
   * Runs the central's processors, one run at a time: a call made while a run is in progress waits
   * for one more run that starts after it (every call made meanwhile shares that run), so each
   * caller knows the processing covered what it wrote before calling. Rejects when the run fails,
   * after reporting it and scheduling a retry; null when the central has no topology yet.
   */
  process(reason: ProcessingReason): Promise<ProcessorReport | null> {
    this.owedSince ??= this.deps.clock.now().getTime();
    if (!this.running && !this.next) {
      this.running = this.runOnce(reason).finally(() => (this.running = null));
      return this.running;
    }
    this.nextReason = reason;
    this.next ??= (this.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        this.running = this.runOnce(this.nextReason).finally(() => (this.running = null));
        return this.running;
      });
    return this.next;
  }

  /** Stops retrying: cancels a retry that is scheduled, and schedules none after this. */
  close(): void {
    this.closed = true;
    this.deferredRun?.cancel();
    this.deferredRun = null;
    this.retry?.cancel();
    this.retry = null;
  }

  private async processQuietly(reason: ProcessingReason): Promise<void> {
    await this.process(reason).catch(() => undefined); // reported through onProcessingFailed, and retried
  }

  private async runOnce(reason: ProcessingReason): Promise<ProcessorReport | null> {
    const { unitOfWork, clock } = this.deps;
    const owed = this.deferred;
    this.deferred = false; // this run covers every push stored before it
    const since = this.owedSince ?? clock.now().getTime();
    this.owedSince = null;
    let owedInDatabase = false;
    try {
      // every push stored before this point is covered by this run, whichever process took it (set again if the run fails)
      owedInDatabase = (await unitOfWork.storage.settings.get(PROCESSING_OWED_KEY)) === true;
      if (owedInDatabase) await unitOfWork.storage.settings.set(PROCESSING_OWED_KEY, false);
      // a central not initialised yet has nothing to process
      const topology = (await unitOfWork.storage.topology.version()) === 0n ? null : await this.topologies.current(unitOfWork.storage);
      const report = topology ? await runSiteProcessors({ unitOfWork, clock }, topology, topology.central.id) : null;
      this.retryMs = FIRST_RETRY_MS;
      this.retry?.cancel(); // this run did what the retry would have
      this.retry = null;
      if (report) this.deps.onProcessed?.(report, reason, Math.max(0, clock.now().getTime() - since));
      return report;
    } catch (error) {
      if (owed) this.deferred = true; // still owed: the next pull (or write) tries again
      if (owedInDatabase) await unitOfWork.storage.settings.set(PROCESSING_OWED_KEY, true).catch(() => undefined); // and in every process
      this.owedSince = Math.min(since, this.owedSince ?? since); // the retry's lag counts from the first write
      this.deps.onProcessingFailed?.(error, this.scheduleRetry());
      throw error;
    }
  }

  /** Schedules a retry unless one is pending (or there is no scheduler, or the service is closed); its delay, or null. */
  private scheduleRetry(): number | null {
    const { scheduler } = this.deps;
    if (!scheduler || this.closed || this.retry) return null;
    const ms = this.retryMs;
    this.retryMs = Math.min(ms * 2, MAX_RETRY_MS);
    this.retry = scheduler.schedule(() => {
      this.retry = null;
      this.process('retry').catch(() => undefined); // reported by runOnce, and retried again
    }, ms);
    return ms;
  }
}
