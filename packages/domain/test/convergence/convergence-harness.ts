import {
  buildTopology,
  canonicalJson as canonical,
  catalogueRow,
  decideEdit,
  detectTransfer,
  respondingId,
  runSiteProcessors,
  processorWrites,
  numberSequenceOf,
  transferProcessingSite,
  planStoreMove,
  recordKey,
  recordLocalChange,
  runOmsCentralExchange,
  countUnpushed,
  runSyncCycle,
  isOmsCentralType,
  saveTopologyChange,
  siteHolds,
  storeDataOnCentral,
  visibilityContext,
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
import { changeTransfer, checkTransferHalves, transferChangeArb, type TransferChangeStep } from './convergence-transfers';

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

const COPY = ['none', 'transfer', 'collector'] as const;

export interface World {
  readonly sites: number; // remote sites are 2..sites; site 1 is the central, and the primary unless mirrored
  /** mirrored sync: site 2 is the primary (it edits central data), with a collector copy of every store */
  readonly mirrored?: boolean;
  /**
   * the remote site flagged as the Open mSupply central server (seed 000), or absent: it serves the
   * Open mSupply data types from a store of its own (`hub`) that every remote syncs them with
   */
  readonly oms?: number | undefined;
  readonly stores: readonly { readonly active: number; readonly dispensary: boolean; readonly includeTx: boolean; readonly copies: readonly number[] }[];
}

type Fault_ = 'none' | 'crash' | 'central-crash' | 'lost-answer' | 'replay' | 'concurrent';
type EditKind = 'stock' | 'item' | 'abbreviation' | 'patient' | 'visibility' | 'message' | 'local' | 'asset' | 'catalogue' | 'immunisation';
type TransferKind = 'customer-invoice' | 'supplier-requisition' | 'purchase-order';

export type Step =
  | { readonly op: 'edit'; readonly site: number; readonly kind: EditKind; readonly store: number; readonly n: number }
  | { readonly op: 'forge'; readonly site: number; readonly store: number; readonly n: number }
  | { readonly op: 'transfer'; readonly site: number; readonly store: number; readonly other: number; readonly kind: TransferKind; readonly finalise: boolean }
  | { readonly op: 'sync'; readonly site: number; readonly fault: Fault_ }
  | { readonly op: 'copy'; readonly store: number; readonly site: number; readonly type: number }
  | { readonly op: 'move'; readonly store: number; readonly site: number; readonly leave: number }
  | { readonly op: 'flag'; readonly store: number; readonly dispensary: boolean; readonly includeTx: boolean }
  | { readonly op: 'reinitialise'; readonly site: number }
  | TransferChangeStep;

export const worldArb: fc.Arbitrary<World> = fc.integer({ min: 3, max: 6 }).chain((sites) =>
  fc.record({
    sites: fc.constant(sites),
    mirrored: fc.boolean(),
    // in about half the worlds, a remote site is the Open mSupply central server
    oms: fc.option(fc.integer({ min: 2, max: sites }), { nil: undefined, freq: 2 }),
    stores: fc.array(
      fc.record({
        active: fc.integer({ min: 1, max: sites }),
        dispensary: fc.boolean(),
        includeTx: fc.boolean(),
        copies: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: sites, maxLength: sites }),
      }),
      { minLength: 4, maxLength: 10 },
    ),
  }),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('edit' as const),
      site: fc.nat(5),
      kind: fc.constantFrom('stock', 'item', 'abbreviation', 'patient', 'visibility', 'message', 'local', 'asset', 'catalogue', 'immunisation' as const),
      store: fc.nat(9),
      n: fc.nat(6),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('forge' as const), site: fc.nat(5), store: fc.nat(9), n: fc.nat(6) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('transfer' as const),
      site: fc.nat(5),
      store: fc.nat(9),
      other: fc.nat(9),
      kind: fc.constantFrom('customer-invoice', 'supplier-requisition', 'purchase-order' as const),
      finalise: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('sync' as const),
      site: fc.nat(5),
      fault: fc.constantFrom('none', 'none', 'crash', 'lost-answer', 'replay' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), store: fc.nat(9), site: fc.nat(5), type: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('move' as const), store: fc.nat(9), site: fc.nat(5), leave: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flag' as const), store: fc.nat(9), dispensary: fc.boolean(), includeTx: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reinitialise' as const), site: fc.nat(5) }) },
  { weight: 3, arbitrary: transferChangeArb },
);

export const stepsArb = fc.array(stepArb, { minLength: 5, maxLength: 40 });

/** The world's topology, or null when the random one breaks a topology rule (the run is then skipped). */
export function topologyOf(world: World): Topology | null {
  const built = buildTopology({
    sites: Array.from({ length: world.sites }, (_, i) => ({
      id: i + 1,
      name: `Site ${i + 1}`,
      roles: [
        ...(i === 0 ? (world.mirrored ? (['central'] as const) : (['central', 'primary'] as const)) : i === 1 && world.mirrored ? (['primary'] as const) : []),
        ...(world.oms === i + 1 ? (['oms-central'] as const) : []),
      ],
      ...(world.oms === i + 1 ? { omsCentralUrl: 'https://oms.example.org' } : {}),
    })),
    stores: world.stores.map((s, i) => ({
      id: `S${i}`,
      name: `Store ${i}`,
      activeSiteId: s.active,
      // every store on the Open mSupply central server runs in dispensary mode
      isDispensary: s.dispensary || s.active === world.oms,
      includeTransactionsInSync: s.includeTx,
      // every store exists on the central: a collector copy there, unless the world says transfer (seed store F)
      // and a mirrored primary (site 2) holds a collector copy of every store
      copies: s.copies
        .map((c, site) => ({ siteId: site + 1, type: COPY[(site === 0 && c === 0) || (site === 1 && world.mirrored) ? 2 : c]! }))
        .filter((c) => c.siteId !== s.active),
    })),
  });
  return built.ok ? built.value : null;
}

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

interface Remote {
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

  await checkOracle(central, hub, remotes, await topology(), forged);
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

async function allRecords(storage: Storage): Promise<Map<string, SyncRecord>> {
  const out = new Map<string, SyncRecord>();
  for (const page of await storage.storage.records.select({}, { limit: 1_000_000 })) out.set(recordKey(page), page);
  const full = await storage.storage.records.getMany([...out.values()]);
  return new Map(full.map((r) => [recordKey(r), r]));
}

async function checkOracle(
  central: Storage,
  hub: Storage | null,
  remotes: Map<SiteId, Remote>,
  topology: Topology,
  forged: Map<string, unknown>,
): Promise<void> {
  const onMain = await allRecords(central);
  const onHub = hub ? await allRecords(hub) : new Map<string, SyncRecord>();
  coverage.omsCentralRecords += onHub.size;
  // each server holds only its own data types: none of the Open mSupply central's on the mSupply central once one is flagged
  for (const key of onMain.keys()) {
    if (topology.omsCentral && isOmsCentralType(key.split(':')[0]!)) throw new Error(`the mSupply central holds ${key}, Open mSupply central data`);
  }
  for (const key of onHub.keys()) {
    if (!isOmsCentralType(key.split(':')[0]!)) throw new Error(`the Open mSupply central server holds ${key}, which is not its data`);
  }
  // what every site must hold comes from the server its type syncs with
  const onCentral = new Map([...onMain, ...onHub]);
  /** the site whose server keeps a record to route it: the Open mSupply central for its types, else the central */
  const keeper = (r: SyncRecord): SiteId => (topology.omsCentral && isOmsCentralType(r.type) ? topology.omsCentral.id : 1);
  const context = await central.run((s) =>
    visibilityContext(
      s,
      [...onCentral.values()].flatMap((r) => (r.patientId ? [r.patientId] : [])),
    ),
  );
  for (const [key, data] of forged) {
    if (canonical(onCentral.get(key)?.data) === canonical(data)) throw new Error(`a forged write took effect on the central: ${key}`);
  }
  // every initiating half the central completes has its responding half there, once (ids are derived), or an open issue saying why not
  const openIssues = new Set((await central.storage.issues.open({ limit: 100_000 })).map((i) => i.key));
  for (const r of onCentral.values()) {
    const detection = detectTransfer(topology, r);
    if (detection.kind !== 'initiating' || transferProcessingSite(topology, detection.initiating, detection.responding).site.id !== 1) continue;
    const half = respondingId(r.id, detection.transferKind);
    if (![...onCentral.values()].some((x) => x.id === half) && !openIssues.has(recordKey(r)))
      throw new Error(`transfer ${recordKey(r)}: no responding half ${half} on the central, and no issue says why`);
  }
  await checkTransferHalves(central, topology, onCentral);
  // numbers given by responding sites are never used twice in a store (a re-initialised site numbers on)
  const numbers = new Map<string, string>();
  for (const r of onCentral.values()) {
    const n = r.data['serialNumber'];
    if (r.data['createdByTransfer'] === undefined || typeof n !== 'number' || n <= 0) continue;
    const slot = JSON.stringify([r.storeId, numberSequenceOf(r), n]);
    const other = numbers.get(slot);
    if (other !== undefined) throw new Error(`number ${n} of ${r.type} in store ${String(r.storeId)} is used twice: ${other} and ${recordKey(r)}`);
    numbers.set(slot, recordKey(r));
  }
  for (const [siteId, remote] of remotes) {
    // everything a site wrote that goes somewhere has been pushed, to the server its type syncs with
    const unpushed = await countUnpushed(remote.storage.storage, await remote.storage.storage.topology.load(), siteId);
    if (unpushed > 0) throw new Error(`site ${siteId} still has ${unpushed} changes not pushed after every site synced`);
    const held = await allRecords(remote.storage);
    const expected = [...onCentral.values()].filter((r) => siteHolds(topology, siteId, r, context));
    const problems: string[] = [];
    for (const r of expected) {
      const mine = held.get(recordKey(r));
      // A copy the central kept from an earlier topology (it no longer holds it by the rules: the two
      // stores of a transfer it completed are now on one site, a dispensary now keeps its transactions
      // home) is the best it can give a site that lacks the record, but the owner's version may be newer.
      const orphan = !siteHolds(topology, keeper(r), r, context);
      if (orphan && mine && decideEdit(topology, siteId, r).ok) continue;
      if (!mine) problems.push(`missing ${recordKey(r)}`);
      else if (canonical(mine) !== canonical(r)) problems.push(`stale ${recordKey(r)}: ${JSON.stringify(mine.data)} instead of ${JSON.stringify(r.data)}`);
    }
    const wanted = new Set(expected.map(recordKey));
    // what the central refused from this site stays here, visible as an issue, never silently dropped
    const refusedHere = new Set((await remote.storage.storage.issues.open({ prefix: 'refused:', limit: 100_000 })).map((i) => i.key.slice('refused:'.length)));
    for (const [key, r] of held) {
      if (refusedHere.has(key) || catalogueRow(r.type)?.category === 'local') continue; // local data is each site's own, whatever its id
      // what the central holds by the rules now; a copy it kept from an earlier topology is not authoritative
      const kept = onCentral.has(key) && siteHolds(topology, keeper(onCentral.get(key)!), onCentral.get(key)!, context);
      // (a site keeps what it owns even where the rules send it nothing: a mirrored primary's dispensary central data)
      if (!wanted.has(key) && kept && !decideEdit(topology, siteId, r).ok) problems.push(`holds ${key}, which the rules do not route to it`);
      // what the central does not hold (or holds only as a copy of the past) may be here only if this site owns it
      if (!kept && !wanted.has(key) && decideEdit(topology, siteId, r).ok === false)
        problems.push(`holds ${key}, which the central does not hold and it does not own`);
    }
    if (problems.length > 0) throw new Error(`site ${siteId} diverged from the central:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
}

/** The property, for fast-check. */
export const convergence = fc.asyncProperty(worldArb, stepsArb, (world, steps) => runScenario(world, steps));

/** The same property on other storage engines. */
export function convergenceOn(engines: Engines) {
  return fc.asyncProperty(worldArb, stepsArb, (world, steps) => runScenario(world, steps, engines));
}
