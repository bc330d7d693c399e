import {
  decideEdit,
  runSiteProcessors,
  processorWrites,
  planStoreMove,
  recordKey,
  recordLocalChange,
  runOmsCentralExchange,
  runSyncCycle,
  saveTopologyChange,
  storeDataOnCentral,
  type CentralSyncGateway,
  type SiteId,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import {
  createInMemoryStorage,
  customerInvoice,
  InMemoryCentralSyncGateway,
  ManualClock,
  purchaseOrder,
  recordsOf,
  SequentialIdGenerator,
  supplierRequisition,
} from '@sitesync/testkit';
import fc from 'fast-check';
import { changeTransfer } from './convergence-transfers';
import { checkOracle } from './convergence-oracle';
import { COPY, stepsArb, topologyOf, worldArb, type EditKind, type Fault_, type Step, type World } from './convergence-world';

export { stepsArb, topologyOf, worldArb, type Step, type World } from './convergence-world';

/**
 * The convergence harness (issue 11): random topologies, random edits on the sites allowed (and
 * not allowed) to make them, topology changes (copies, moves, dispensary and include-transactions
 * flags, patient visibility), sync cycles of random sites in random order, and faults (a crash
 * inside a unit of work, a lost push answer, a replayed batch, a site re-initialised from an empty
 * file), and transfers changed, deleted or received after they were entered (issue 12). The oracle,
 * after every site synced twice with no new edits: each site holds exactly the records the rules
 * route to it from the central's state, with the central's data; every write the central accepted
 * is there with its last data; no refused or forged write took effect; an untouched responding half
 * holds exactly its initiating half (convergence-transfers.ts).
 */

/** Storage as the harness uses it: a unit of work and the ports outside one (in-memory, SQLite, Postgres/PGlite alike). */
export type Storage = UnitOfWork & { readonly storage: SyncStorage };

/** Where the central's and the sites' storage come from; each is closed when the run ends. */
export interface Engines {
  central(): Promise<Storage & { close(): Promise<void> }>;
  site(): Promise<Storage & { close(): Promise<void> }>;
  /** the Open mSupply central server's own store (default: `site`, as in the app) */
  hub?(): Promise<Storage & { close(): Promise<void> }>;
}

/** Everything in memory (the default: fast enough for hundreds of runs in `npm test`). */
export const IN_MEMORY: Engines = {
  central: () => Promise.resolve({ ...createInMemoryStorage(), close: () => Promise.resolve() }),
  site: () => Promise.resolve({ ...createInMemoryStorage(), close: () => Promise.resolve() }),
};

export interface Remote {
  storage: Storage;
  /** the unit of work the cycle uses: it may be made to fail once */
  crashAt: number | null;
}

/** Raised by an injected fault. */
class Fault extends Error {}

/** What the runs so far exercised (the soak prints it; the test checks the Open mSupply central was in some). */
export const coverage = { runs: 0, withOmsCentral: 0, omsCentralRecords: 0 };

export async function runScenario(world: World, steps: readonly Step[], engines: Engines = IN_MEMORY): Promise<void> {
  const initial = topologyOf(world);
  if (!initial) return;
  coverage.runs++;
  if (initial.omsCentral) coverage.withOmsCentral++;
  const opened: { close(): Promise<void> }[] = [];
  const open = async (made: Promise<Storage & { close(): Promise<void> }>): Promise<Storage> => {
    const storage = await made;
    opened.push(storage);
    return storage;
  };
  try {
    await runOn(world, steps, initial, engines, open);
  } finally {
    for (const storage of opened.reverse()) await storage.close();
  }
}

async function runOn(
  world: World,
  steps: readonly Step[],
  initial: Topology,
  engines: Engines,
  open: (made: Promise<Storage & { close(): Promise<void> }>) => Promise<Storage>,
): Promise<void> {
  const clock = new ManualClock();
  const ids = new SequentialIdGenerator('id');
  const central = await open(engines.central());
  await central.run((s) => s.topology.save(initial));
  // the Open mSupply central server's own store: it learns the topology from its site's cycles
  // (on the site engine: the app keeps it in a SQLite file beside the site's data file)
  const hub = world.oms !== undefined ? await open((engines.hub ?? engines.site)()) : null;
  const remoteIds = initial.sites.filter((s) => s.id !== 1).map((s) => s.id);
  const remotes = new Map<SiteId, Remote>();
  for (const id of remoteIds) remotes.set(id, { storage: await open(engines.site()), crashAt: null });
  const topology = async (): Promise<Topology> => (await central.storage.topology.load())!;
  /** key -> data of the last write the central accepted (and that must therefore be everywhere it goes) */
  const forged = new Map<string, unknown>();
  let version = 0;
  /** the initiating headers entered so far, which later steps change, delete or receive */
  const transfers: { type: 'transaction' | 'requisition' | 'purchase_order'; id: string }[] = [];

  const unitOfWorkOf = (remote: Remote): UnitOfWork => ({
    run: <T>(work: (s: SyncStorage) => Promise<T>): Promise<T> =>
      remote.storage.run(async (s) => {
        const result = await work(s);
        if (remote.crashAt !== null && --remote.crashAt <= 0) {
          remote.crashAt = null;
          throw new Fault('crash inside a unit of work');
        }
        return result;
      }),
  });

  /** records pushed, pulled or dropped since the counter was last reset */
  let moved = 0;
  async function sync(siteId: SiteId, fault: Fault_): Promise<void> {
    if (fault === 'concurrent') {
      // a second cycle of the same site at the same moment: one of them may fail (its cursor moved under it); nothing may be lost
      await Promise.allSettled([sync(siteId, 'none'), sync(siteId, 'none')]);
      return;
    }
    const remote = remotes.get(siteId)!;
    // 'central-crash': one of the central's units of work in this cycle fails after its work, before it commits
    let centralCrashAt = fault === 'central-crash' ? 1 + (version % 5) : null;
    const centralForCycle: Storage = {
      storage: central.storage,
      run: <T>(work: (s: SyncStorage) => Promise<T>): Promise<T> =>
        central.run(async (s) => {
          const result = await work(s);
          if (centralCrashAt !== null && --centralCrashAt <= 0) {
            centralCrashAt = null;
            throw new Fault('the central crashed inside a unit of work');
          }
          return result;
        }),
    };
    const real = new InMemoryCentralSyncGateway(centralForCycle, 'stored', siteId, { clock });
    let lastPush: { id: string; records: readonly SyncRecord[] } | null = null;
    const gateway: CentralSyncGateway = {
      siteInfo: () => real.siteInfo(),
      push: async (id, records) => {
        if (fault === 'replay' && lastPush) await real.push(lastPush.id, lastPush.records);
        lastPush = { id, records };
        const answer = await real.push(id, records);
        // as the central's app does after every accepted push: complete the transfers it detects
        await runSiteProcessors({ unitOfWork: central, clock }, await topology(), 1);
        if (fault === 'lost-answer') {
          fault = 'none';
          throw new Fault('the push answer was lost');
        }
        return answer;
      },
      pull: (cursor, limit, options) => real.pull(cursor, limit, options),
    };
    if (fault === 'crash') remote.crashAt = 1 + (version % 4);
    try {
      // as the remote app does: a cycle, this site's own processors, and a second cycle when they wrote something
      const deps = { unitOfWork: unitOfWorkOf(remote), gateway, clock, ids };
      const first = await runSyncCycle(deps, siteId, { requestSize: 3 });
      moved += first.pushed + first.pulled + first.dropped;
      const done = await runSiteProcessors({ unitOfWork: unitOfWorkOf(remote), clock }, first.topology, siteId);
      if (processorWrites(done) > 0) {
        const second = await runSyncCycle(deps, siteId, { requestSize: 3 });
        moved += second.pushed + second.pulled + second.dropped;
      }
      if (hub) await exchangeWithOmsCentral(siteId, remote, deps);
    } catch (error) {
      if (!(error instanceof Fault)) throw error;
    } finally {
      remote.crashAt = null;
    }
  }

  /**
   * As the remote app does after its cycles: the Open mSupply central site gives its server the
   * topology it just learnt (a change applied like one on the central), then every site exchanges
   * its Open mSupply data with that server (not before the server has a topology: unreachable).
   */
  async function exchangeWithOmsCentral(siteId: SiteId, remote: Remote, deps: { unitOfWork: UnitOfWork; clock: ManualClock; ids: SequentialIdGenerator }) {
    const learnt = await remote.storage.storage.topology.load();
    if (!hub || !learnt?.omsCentral) return;
    if (siteId === learnt.omsCentral.id) {
      await hub.run(async (s) => {
        const held = await s.topology.load();
        if (!held) await s.topology.save(learnt);
        else await saveTopologyChange(s, held, learnt, clock.now());
      });
    }
    if ((await hub.storage.topology.version()) === 0n) return;
    const gateway = new InMemoryCentralSyncGateway(hub, 'stored', siteId, { clock, channel: 'oms-central' });
    const report = await runOmsCentralExchange({ ...deps, gateway }, siteId, learnt, { requestSize: 3 });
    moved += report.pushed + report.pulled + report.dropped;
  }

  const storeId = (topo: Topology, n: number): string => topo.stores[n % topo.stores.length]!.id;
  const siteOf = (n: number): SiteId => 1 + (n % world.sites);

  for (const step of steps) {
    const topo = await topology();
    version++;
    switch (step.op) {
      case 'edit': {
        const store = storeId(topo, step.store);
        // Open mSupply data mostly entered where it may be (its store's site, the Open mSupply central), sometimes anywhere
        const omsEditor =
          step.kind === 'asset' ? topo.store(store)!.activeSiteId : step.kind === 'catalogue' || step.kind === 'immunisation' ? topo.omsCentral?.id : undefined;
        const siteId = omsEditor !== undefined && step.site % 3 !== 0 ? omsEditor : siteOf(step.site);
        const record = editRecord(step.kind, store, step.n, version, topo);
        if (!decideEdit(topo, siteId, record).ok) break; // the app refuses it before writing
        // (a site that never synced learns its topology first, for Open mSupply data: it is rarer)
        if (omsEditor !== undefined && siteId !== 1 && !(await remotes.get(siteId)!.storage.storage.topology.load())) await sync(siteId, 'none');
        const storage = siteId === 1 ? central : remotes.get(siteId)!.storage;
        const local = siteId === 1 ? topo : ((await storage.storage.topology.load()) ?? null);
        if (!local || !decideEdit(local, siteId, record).ok) break; // the site has not learnt it may edit yet
        const result = await recordLocalChange({ unitOfWork: storage }, local, siteId, [record]);
        // the same id held for another store (ids are reused on purpose here): refused, nothing written
        // (and the mSupply central refuses Open mSupply data once a site is flagged as its server)
        if (!result.ok && result.error.some((v) => v.code !== 'push.owner-changed' && v.code !== 'push.other-server'))
          throw new Error(`an allowed edit was refused: ${JSON.stringify(result.error)}`);
        break;
      }
      case 'forge': {
        const siteId = siteOf(step.site);
        if (siteId === 1) break;
        const store = storeId(topo, step.store);
        // another store's record, or a poison record of its own store (a NUL in its text): both must be refused
        const own = topo.stores.find((s) => s.activeSiteId === siteId);
        const record: SyncRecord =
          step.n % 2 === 0 || !own
            ? { type: 'stock_line', id: `stock-${store}-${step.n}`, storeId: store, data: { forgedBy: siteId, v: version } }
            : { type: 'stock_line', id: `stock-${own.id}-${step.n}`, storeId: own.id, data: { poison: `bad\u0000${version}`, v: version } };
        if (decideEdit(topo, siteId, record).ok && record.data['poison'] === undefined) break;
        await new InMemoryCentralSyncGateway(central, 'stored', siteId, { clock }).push(`forged-${version}`, [record]);
        forged.set(recordKey(record), record.data);
        break;
      }
      case 'transfer': {
        const from = storeId(topo, step.store);
        // mostly entered where the store is active (as a user would), sometimes on a random site (refused there)
        const siteId = step.site % 3 === 0 ? siteOf(step.site) : topo.store(from)!.activeSiteId;
        const to = storeId(topo, step.other);
        if (from === to) break;
        const spec = {
          id: `${step.kind}-${version}`,
          from,
          to,
          status: step.finalise ? (step.kind === 'purchase-order' ? 'confirmed' : 'finalised') : 'draft',
        };
        const doc =
          step.kind === 'customer-invoice' ? customerInvoice(spec) : step.kind === 'supplier-requisition' ? supplierRequisition(spec) : purchaseOrder(spec);
        const storage = siteId === 1 ? central : remotes.get(siteId)!.storage;
        const local = siteId === 1 ? topo : await storage.storage.topology.load();
        if (!local || recordsOf(doc).some((r) => !decideEdit(local, siteId, r).ok)) break;
        const result = await recordLocalChange({ unitOfWork: storage }, local, siteId, recordsOf(doc));
        if (!result.ok) throw new Error(`an allowed transfer was refused: ${JSON.stringify(result.error)}`);
        transfers.push({ type: doc.header.type as 'transaction', id: doc.header.id });
        await runSiteProcessors({ unitOfWork: storage, clock }, local, siteId);
        break;
      }
      case 'retransfer':
        await changeTransfer(step, transfers, topo, (siteId) => (siteId === 1 ? central : remotes.get(siteId)!.storage), clock, version);
        break;
      case 'sync':
        if (siteOf(step.site) !== 1) await sync(siteOf(step.site), step.fault);
        break;
      case 'copy': {
        const siteId = siteOf(step.site);
        const store = storeId(topo, step.store);
        const next = topo.withCopyType(store, siteId, COPY[step.type]!);
        if (next.ok) await central.run((s) => saveTopologyChange(s, topo, next.value, clock.now()));
        break;
      }
      case 'move': {
        const store = storeId(topo, step.store);
        const from = topo.store(store)!.activeSiteId;
        // the admin route refuses to move a store whose data the central does not hold
        if (!storeDataOnCentral(topo, store)) break;
        // the admin route's precondition: the old site has pushed and pulled everything
        if (from !== 1) await sync(from, 'none');
        const plan = planStoreMove(await topology(), store, siteOf(step.site), COPY[step.leave]!);
        if (plan.ok) await central.run((s) => saveTopologyChange(s, topo, plan.value.topology, clock.now()));
        break;
      }
      case 'flag': {
        const store = storeId(topo, step.store);
        const next = topo.updateStore(store, { isDispensary: step.dispensary, includeTransactionsInSync: step.includeTx });
        if (next.ok) await central.run((s) => saveTopologyChange(s, topo, next.value, clock.now()));
        break;
      }
      case 'reinitialise': {
        const siteId = siteOf(step.site);
        if (siteId !== 1) remotes.get(siteId)!.storage = await open(engines.site());
        break;
      }
    }
  }

  // Every site syncs, with no new edits, until a whole round moves nothing (at least twice): a
  // transfer takes a chain of cycles (sent, completed on the central, numbered on the responding
  // site, then to that store's collectors). More than 6 rounds would be a sync that never settles.
  for (let round = 0; ; round++) {
    moved = 0;
    for (const siteId of remoteIds) await sync(siteId, 'none');
    if (round >= 1 && moved === 0) break;
    if (round >= 6) throw new Error(`sync never settles: ${moved} records still moved in round ${round + 1}`);
  }

  await checkOracle(central, hub, remotes, await topology(), forged, coverage);
}

function editRecord(kind: EditKind, store: string, n: number, version: number, topo: Topology): SyncRecord {
  const data = { v: version };
  switch (kind) {
    case 'stock':
      return { type: 'stock_line', id: `stock-${store}-${n}`, storeId: store, data };
    case 'item':
      return { type: 'item', id: `item-${n}`, data };
    case 'abbreviation':
      return { type: 'abbreviation', id: `abbr-${n}`, data };
    case 'patient':
      return { type: 'patient', id: `patient-${n % 3}`, patientId: `p${n % 3}`, homeStoreId: patientHome(topo, n), data };
    case 'visibility':
      return {
        type: 'patient_visibility',
        id: `vis-p${n % 3}-${store}`,
        storeId: store,
        patientId: `p${n % 3}`,
        ...(n % 4 === 3 ? { deleted: true } : {}),
        data,
      };
    case 'message':
      return { type: 'message', id: `msg-${n}`, storeId: store, otherPartyStoreId: topo.stores[(n + 1) % topo.stores.length]!.id, data };
    case 'local':
      return { type: 'log', id: `log-${n}`, data };
    case 'asset':
      return { type: 'asset', id: `asset-${store}-${n}`, storeId: store, data };
    case 'catalogue':
      return { type: 'asset_catalogue_item', id: `catalogue-${n}`, data };
    case 'immunisation':
      return { type: 'immunisation_program', id: `programme-${n}`, data };
  }
}

/** A patient's home store never changes through sync (owning column): fixed per patient. */
function patientHome(topo: Topology, n: number): string {
  return topo.stores[(n % 3) % topo.stores.length]!.id;
}

/** The property, for fast-check. */
export const convergence = fc.asyncProperty(worldArb, stepsArb, (world, steps) => runScenario(world, steps));

/** The same property on other storage engines. */
export function convergenceOn(engines: Engines) {
  return fc.asyncProperty(worldArb, stepsArb, (world, steps) => runScenario(world, steps, engines));
}
