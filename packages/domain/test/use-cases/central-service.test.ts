import {
  CentralService,
  orThrow,
  respondingId,
  saveTopologyChange,
  type CentralServiceDeps,
  type CentralTopologySource,
  type ProcessorReport,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import { createInMemoryStorage, customerInvoice, ManualClock, recordsOf, seedExampleTopology, type InMemoryStorage } from '@sitesync/testkit';

/** The topology as stored, read each time (the HTTP layer's TopologyCache keeps it in memory; the domain only needs the contract). */
function storedTopologies(storage: InMemoryStorage, clock: ManualClock): CentralTopologySource {
  const current = async (s: SyncStorage): Promise<Topology> => {
    const topology = await s.topology.load();
    if (!topology) throw new Error('no topology');
    return topology;
  };
  const exclusive: CentralTopologySource['exclusive'] = (work) => storage.run(async (s) => (await work(await current(s), s)).value);
  return {
    load: () => current(storage.storage),
    current,
    fresh: () => current(storage.storage),
    lastKnown: () => null,
    exclusive,
    change(change) {
      return storage.run(async (s) => {
        const topology = await current(s);
        const { next, value } = await change(topology, s);
        const scope = next === null ? null : await saveTopologyChange(s, topology, next, clock.now());
        return { value, scope };
      });
    },
  };
}

/** A unit of work that runs `allowed` more units of work, then fails every one (the database went away). */
function breakable(inner: InMemoryStorage): UnitOfWork & { storage: SyncStorage; allowed: number } {
  const wrapper = {
    storage: inner.storage,
    allowed: Infinity,
    run<T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> {
      if (wrapper.allowed <= 0) return Promise.reject(new Error('the database went away'));
      wrapper.allowed--;
      return inner.run(work);
    },
  };
  return wrapper;
}

/** A scheduler that runs nothing by itself: the test fires what was scheduled. */
class FakeScheduler {
  readonly scheduled: { run: () => void; ms: number; cancelled: boolean }[] = [];
  schedule(run: () => void, ms: number): { cancel(): void } {
    const entry = { run, ms, cancelled: false };
    this.scheduled.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }
  fire(): void {
    const entry = this.scheduled.find((e) => !e.cancelled);
    if (!entry) throw new Error('nothing scheduled');
    entry.cancelled = true;
    entry.run();
  }
}

async function centralWith(overrides: Partial<CentralServiceDeps> = {}) {
  const storage = createInMemoryStorage();
  await storage.storage.topology.save(seedExampleTopology());
  const clock = new ManualClock();
  const reports: { report: ProcessorReport; reason: string }[] = [];
  const failures: { error: unknown; retryInMs: number | null }[] = [];
  const service = new CentralService({
    unitOfWork: storage,
    clock,
    topologies: storedTopologies(storage, clock),
    onProcessed: (report, reason) => reports.push({ report, reason }),
    onProcessingFailed: (error, retryInMs) => failures.push({ error, retryInMs }),
    ...overrides,
  });
  return { storage, clock, service, reports, failures };
}

describe('CentralService: every write on the central, then its processors', () => {
  it('completes a customer invoice between two stores active on the central as soon as it is written', async () => {
    const { storage, service, reports } = await centralWith();
    // A and E are both active on the central (site 1)
    const result = await service.writeRecords(recordsOf(customerInvoice({ id: 'ci-a-e', from: 'A', to: 'E' })));
    expect(result).toMatchObject({ ok: true, value: { written: 2 } });
    expect(await storage.storage.records.get('transaction', respondingId('ci-a-e', 'stock-transfer'))).toMatchObject({ storeId: 'E' });
    expect(reports).toEqual([expect.objectContaining({ reason: 'records' })]);
  });

  it('runs no processors when the records are refused', async () => {
    const { service, reports } = await centralWith();
    const result = await service.writeRecords(recordsOf(customerInvoice({ id: 'ci-b-c', from: 'B', to: 'C' }))); // B is active on site 2
    expect(result.ok).toBe(false);
    expect(reports).toEqual([]);
  });

  it('completes a transfer refused for a missing copy as soon as the topology change adds it, with no push in between', async () => {
    const { storage, service } = await centralWith();
    // C (site 3) sends to F, which has no copy on site 3
    const records = recordsOf(customerInvoice({ id: 'ci-c-f', from: 'C', to: 'F' }));
    const pushed = await service.push(3, { id: 'batch-1', digest: 'digest-1', records });
    expect(pushed).toMatchObject({ accepted: records.length, refused: [] });
    const supplierInvoiceId = respondingId('ci-c-f', 'stock-transfer');
    expect(await storage.storage.records.get('transaction', supplierInvoiceId)).toBeNull();
    expect(await storage.storage.issues.open()).toEqual([
      expect.objectContaining({ key: 'transaction:ci-c-f', violation: expect.objectContaining({ code: 'transfer.store-has-no-copy' }) }),
    ]);

    const { value } = await service.changeTopology(async (topology) => ({ next: orThrow(topology.withCopyType('F', 3, 'transfer')), value: 'fixed' }));
    expect(value).toBe('fixed');
    expect(await storage.storage.records.get('transaction', supplierInvoiceId)).toMatchObject({ storeId: 'F' });
    expect(await storage.storage.issues.open()).toEqual([]);
  });

  it('processes after an exclusive topology change only when the topology changed, and after a push only when it stored records the processors act on', async () => {
    const { service, reports } = await centralWith();
    expect(await service.exclusiveTopology(async () => ({ next: null, value: 1 }))).toBe(1);
    expect(reports).toHaveLength(0);
    expect(await service.exclusiveTopology(async (topology) => ({ next: topology, value: 2 }))).toBe(2);
    expect(reports.map((r) => r.reason)).toEqual(['topology']);

    await service.push(2, { id: 'empty', digest: 'd-empty', records: [] });
    expect(reports).toHaveLength(1);
    // stock lines: nothing for the processors to do (the next run passes over them)
    await service.push(2, { id: 'stock', digest: 'd-stock', records: [{ type: 'stock_line', id: 'sl-1', storeId: 'B', data: {} }] });
    expect(reports).toHaveLength(1);
    // a transfer document: processed before the push is answered
    const records = recordsOf(customerInvoice({ id: 'ci-b-c', from: 'B', to: 'C' }));
    await service.push(2, { id: 'b', digest: 'd-b', records });
    expect(reports.map((r) => r.reason)).toEqual(['topology', 'push']);
    expect(await service.push(2, { id: 'b', digest: 'd-b', records })).toMatchObject({ replayed: true });
    expect(await service.push(2, { id: 'b', digest: 'other', records })).toMatchObject({ conflict: { code: 'push.batch-id-reused' } });
    expect(reports).toHaveLength(2);
  });

  it('a push that says more follows is processed once: with the last batch, before the next pull, or by the scheduler', async () => {
    const scheduler = new FakeScheduler();
    const { storage, service, reports } = await centralWith({ scheduler });
    const siId = respondingId('ci-c-d', 'stock-transfer');
    // C (site 3) to B (site 2): the header in the first batch, its line in the second
    const [header, line] = recordsOf(customerInvoice({ id: 'ci-c-d', from: 'C', to: 'B' }));
    await service.push(3, { id: 'p-1', digest: 'd-1', records: [header!] }, undefined, { more: true });
    expect(reports).toHaveLength(0);
    expect(scheduler.scheduled.map((s) => s.ms)).toEqual([5_000]);
    await service.push(3, { id: 'p-2', digest: 'd-2', records: [line!] });
    expect(reports.map((r) => r.reason)).toEqual(['push']);
    expect(await storage.storage.records.get('transaction', siId)).toMatchObject({ storeId: 'B' });
    expect(reports[0]!.report.transfers.pending).toEqual([]); // never seen half-arrived

    // the last batch said more too (it was exactly full): the site's pull completes the transfer before it is answered
    const [h2, l2] = recordsOf(customerInvoice({ id: 'ci-c-b-2', from: 'C', to: 'B' }));
    await service.push(3, { id: 'p-3', digest: 'd-3', records: [h2!, l2!] }, undefined, { more: true });
    expect(reports).toHaveLength(1);
    const pulled = await service.pull(3, { cursor: 0n, limit: 5000 });
    expect(reports).toHaveLength(2);
    expect(pulled.records.map((r) => r.id)).toContain(respondingId('ci-c-b-2', 'stock-transfer'));

    // and when neither comes (the site went away mid-push), the scheduler runs it
    const [h3, l3] = recordsOf(customerInvoice({ id: 'ci-c-b-3', from: 'C', to: 'B' }));
    await service.push(3, { id: 'p-4', digest: 'd-4', records: [h3!, l3!] }, undefined, { more: true });
    expect(reports).toHaveLength(2);
    const done = waitUntil(() => reports.length === 3);
    scheduler.scheduled
      .filter((e) => !e.cancelled)
      .at(-1)!
      .run();
    await done;
    expect(await storage.storage.records.get('transaction', respondingId('ci-c-b-3', 'stock-transfer'))).not.toBeNull();
  });

  it('coalesces: calls made while a run is in progress share one more run after it', async () => {
    const { service, reports } = await centralWith();
    const calls = Array.from({ length: 6 }, (_, i) => service.process(i === 0 ? 'start' : 'push'));
    const results = await Promise.all(calls);
    expect(reports).toHaveLength(2);
    expect(results.every((r) => r !== null)).toBe(true);
    // the calls after the first share the second run
    expect(new Set(results.slice(1)).size).toBe(1);
    expect(results[0]).not.toBe(results[1]);
    await service.process('push');
    expect(reports).toHaveLength(3);
  });

  it('retries a failed run through the scheduler, with backoff, and never fails the write', async () => {
    const storage = createInMemoryStorage();
    await storage.storage.topology.save(seedExampleTopology());
    const unitOfWork = breakable(storage);
    const scheduler = new FakeScheduler();
    const clock = new ManualClock();
    const failures: (number | null)[] = [];
    let processed: () => void = () => undefined;
    const service = new CentralService({
      unitOfWork,
      clock,
      topologies: storedTopologies(storage, clock),
      scheduler,
      onProcessed: () => processed(),
      onProcessingFailed: (_error, retryInMs) => failures.push(retryInMs),
    });

    // the write's own unit of work succeeds, the processing after it fails: the write is answered and kept
    const invoice = recordsOf(customerInvoice({ id: 'ci-retry', from: 'A', to: 'E' }));
    unitOfWork.allowed = 1; // recordLocalChange's unit of work
    expect(await service.writeRecords(invoice)).toMatchObject({ ok: true });
    expect(await storage.storage.records.get('transaction', 'ci-retry')).not.toBeNull();
    expect(await storage.storage.records.get('transaction', respondingId('ci-retry', 'stock-transfer'))).toBeNull();
    expect(failures).toEqual([1_000]);
    expect(scheduler.scheduled.map((s) => s.ms)).toEqual([1_000]);

    // another failure while the retry is pending schedules nothing more
    await expect(service.process('push')).rejects.toThrow('the database went away');
    expect(failures).toEqual([1_000, null]);

    // the retry fails again: the next one waits twice as long
    const failedAgain = failures.length;
    scheduler.fire();
    await waitUntil(() => failures.length > failedAgain);
    expect(failures.at(-1)).toBe(2_000);

    // the database is back: the retry completes the transfer
    unitOfWork.allowed = Infinity;
    const done = new Promise<void>((resolve) => (processed = resolve));
    scheduler.fire();
    await done;
    expect(await storage.storage.records.get('transaction', respondingId('ci-retry', 'stock-transfer'))).not.toBeNull();

    // after a success the backoff starts again at 1 s; close() cancels a pending retry and schedules no more
    unitOfWork.allowed = 0;
    await expect(service.process('push')).rejects.toThrow();
    expect(failures.at(-1)).toBe(1_000);
    const pending = scheduler.scheduled.at(-1)!;
    service.close();
    expect(pending.cancelled).toBe(true);
    await expect(service.process('push')).rejects.toThrow();
    expect(failures.at(-1)).toBeNull();
    expect(scheduler.scheduled.filter((s) => !s.cancelled)).toEqual([]);
  });

  it('without a scheduler, a failed run is reported with no retry', async () => {
    const storage = createInMemoryStorage();
    await storage.storage.topology.save(seedExampleTopology());
    const unitOfWork = breakable(storage);
    unitOfWork.allowed = 0;
    const failures: (number | null)[] = [];
    const clock = new ManualClock();
    const service = new CentralService({
      unitOfWork,
      clock,
      topologies: storedTopologies(storage, clock),
      onProcessingFailed: (_error, retryInMs) => failures.push(retryInMs),
    });
    await expect(service.process('start')).rejects.toThrow('the database went away');
    expect(failures).toEqual([null]);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never met');
}
