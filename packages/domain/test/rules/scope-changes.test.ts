import {
  planStoreMove,
  planStoreRemoval,
  PullServer,
  queuePatientsOfStore,
  saveTopologyChange,
  scopeAction,
  storeAccepted,
  type RoutingContext,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';
import { parseRecord, setup as namedSetup, tableRows, VISIBILITY } from './decision-tables';

const rows = tableRows('C');

function setup(name: string): Topology {
  if (name !== 'dispensary-collector') return namedSetup(name);
  return orThrow(namedSetup('dispensary').withCopyType('G', 2, 'collector'));
}

function orThrow<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

const visibleIn = (context: RoutingContext, patientId: string): string[] => [...(context.patientVisibleIn?.(patientId) ?? [])];

/** The change of a table row: a new topology, or a visibility record (added, or deleted). */
type Change = { readonly topology: Topology } | { readonly visibility: SyncRecord; readonly context: RoutingContext };

function parseChange(before: Topology, spec: string): Change {
  const [verb, a, b, c] = spec.split(' ');
  const on = (v: string | undefined) => v === 'on';
  switch (verb) {
    case 'copy': {
      const [store, site] = a!.split('@');
      return { topology: orThrow(before.withCopyType(store!, Number(site), b as 'none' | 'transfer' | 'collector')) };
    }
    case 'move':
      return { topology: orThrow(planStoreMove(before, a!, Number(b), c as 'none' | 'transfer' | 'collector')).topology };
    case 'remove':
      return { topology: orThrow(planStoreRemoval(before, a!, b as 'none' | 'transfer' | 'collector')).topology };
    case 'dispensary':
      return { topology: orThrow(before.updateStore(a!, { isDispensary: on(b) })) };
    case 'include-tx':
      return { topology: orThrow(before.updateStore(a!, { includeTransactionsInSync: on(b) })) };
    case 'visible':
    case 'hidden': {
      const patientId = a!;
      const stores = verb === 'visible' ? [...visibleIn(VISIBILITY, patientId), b!] : visibleIn(VISIBILITY, patientId).filter((s) => s !== b);
      const context: RoutingContext = { patientVisibleIn: (p) => (p === patientId ? stores : visibleIn(VISIBILITY, p)) };
      return { visibility: visibilityRecord(patientId, b!, verb === 'hidden'), context };
    }
    default:
      throw new Error(`docs/sync-rules.md table C: cannot read change "${spec}"`);
  }
}

function visibilityRecord(patientId: string, storeId: string, deleted = false): SyncRecord {
  return { type: 'patient_visibility', id: `vis-${patientId}-${storeId}`, storeId, patientId, ...(deleted ? { deleted } : {}), data: {} };
}

/** What the site's next pull does with the record, through the central's storage: the resync queue, then the pull. */
async function throughThePull(before: Topology, change: Change, record: SyncRecord, siteId: number): Promise<string> {
  const central = createInMemoryStorage();
  const visibility = ['p1', 'p2', 'p3'].flatMap((p) => visibleIn(VISIBILITY, p).map((s) => visibilityRecord(p, s)));
  await central.run(async (s) => {
    await s.topology.save(before);
    await s.records.upsert([record, ...(record.patientId ? visibility : [])], { sourceSiteId: 1, viaSync: false });
  });
  const after = 'topology' in change ? change.topology : before;
  await central.run(async (s) => {
    if ('topology' in change) await saveTopologyChange(s, before, change.topology, new Date());
    else await storeAccepted(s, before, [change.visibility], { sourceSiteId: 1, viaSync: false });
  });
  const head = await central.storage.changes.head();
  const result = await central.run((s) => new PullServer().pull(s, () => Promise.resolve(after), siteId, { cursor: head, limit: 100, queueCursor: 0n }));
  if (result.records.some((r) => r.type === record.type && r.id === record.id)) return 'send';
  if ((result.drops ?? []).some((r) => r.type === record.type && r.id === record.id)) return 'drop';
  return 'nothing';
}

describe('docs/sync-rules.md table C: what a scope change does to data', () => {
  it('has rows to check', () => expect(rows.length).toBeGreaterThanOrEqual(25));

  it.each(rows)('%s: %s, %s: %s on site %s -> %s', async (_n, setupName, changeSpec, recordSpec, site, action) => {
    const before = setup(setupName!);
    const change = parseChange(before, changeSpec!);
    const record = parseRecord(recordSpec!);
    const after = 'topology' in change ? { topology: change.topology, context: VISIBILITY } : { topology: before, context: change.context };
    expect(scopeAction({ topology: before, context: VISIBILITY }, after, Number(site), record)).toBe(action);
    // The central routes and never pulls: for it, "send" means the owning site pushes the record again.
    if (Number(site) !== before.central.id) {
      expect(await throughThePull(before, change, record, Number(site))).toBe(action === 'keep' ? 'nothing' : action);
    }
  });
});

describe('resync the patients of a store', () => {
  it('queues every record of the patients visible in the store, or at home there, to the sites that hold them now', async () => {
    const topology = setup('dispensary');
    const central = createInMemoryStorage();
    const records: SyncRecord[] = [
      { type: 'patient', id: 'pat-1', patientId: 'p1', homeStoreId: 'G', data: {} },
      { type: 'patient', id: 'pat-2', patientId: 'p2', homeStoreId: 'G', data: {} },
      { type: 'patient', id: 'pat-9', patientId: 'p9', homeStoreId: 'D', data: {} },
      visibilityRecord('p1', 'B'),
    ];
    await central.run(async (s) => {
      await s.topology.save(topology);
      await s.records.upsert(records, { sourceSiteId: 3, viaSync: true });
    });
    const report = await central.run((s) => queuePatientsOfStore(s, topology, 'B'));
    // p1 is visible in B (active on site 2): its record goes again to site 2 (with its visibility record) and site 3 (home site)
    expect(Object.fromEntries(report.queued)).toEqual({ 2: 2, 3: 1 });
    expect((await central.storage.resync.read(2, 0n, 10)).map((e) => e.id)).toEqual(['pat-1', 'vis-p1-B']);
    const forG = await central.run((s) => queuePatientsOfStore(s, topology, 'G'));
    // p1 and p2 have their home in G (site 3); p1 also goes to site 2, where it is visible in B; p9 (home D) is not concerned
    expect(Object.fromEntries(forG.queued)).toEqual({ 2: 2, 3: 2 });
  });
});
