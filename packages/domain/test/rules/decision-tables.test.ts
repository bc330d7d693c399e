import { decideEdit, decideReceipt, pushRefusal, routeChange, syncChannelOf, type SyncChannel } from '@sitesync/domain';
import { parseRecord, setup, tableRows, VISIBILITY } from './decision-tables';

const editRows = tableRows('E');
const routingRows = tableRows('R');
const seedRows = tableRows('S');
const keptRows = tableRows('K');
const serverRows = tableRows('O');

describe('docs/sync-rules.md table E: who may edit', () => {
  it('has rows to check', () => expect(editRows.length).toBeGreaterThanOrEqual(30));

  it.each(editRows)('%s: %s, %s edited on site %s -> %s (%s)', (_n, setupName, recordSpec, site, mayEdit, ruleOrCode) => {
    const decision = decideEdit(setup(setupName!), Number(site), parseRecord(recordSpec!));
    if (mayEdit === 'yes') {
      expect(decision).toMatchObject({ ok: true, value: { editRule: ruleOrCode } });
    } else {
      expect(decision).toMatchObject({ ok: false, error: { code: ruleOrCode } });
      if (!decision.ok) {
        // every refusal says which rule and what to do
        expect(decision.error.message.length).toBeGreaterThan(20);
        expect(decision.error.fix.length).toBeGreaterThan(10);
      }
    }
  });
});

describe('docs/sync-rules.md table R: where a change goes', () => {
  it('has rows to check', () => expect(routingRows.length).toBeGreaterThanOrEqual(40));

  it.each(routingRows)('%s: %s, %s from site %s to site %s -> %s (%s)', (_n, setupName, recordSpec, from, to, receives, rule) => {
    const topology = setup(setupName!);
    const record = parseRecord(recordSpec!);
    const routing = routeChange(topology, Number(from), record, VISIBILITY);
    if (!routing.ok) throw new Error(routing.error.message);
    const all = [...routing.value.destinations, ...routing.value.withheld];
    const decision = all.find((d) => d.siteId === Number(to));
    expect(decision).toMatchObject({ receives: receives === 'yes', rule });
    expect(decision?.reason).toMatch(/\w/);
    // routeChange and decideReceipt agree
    expect(decideReceipt(topology, Number(to), record, VISIBILITY)).toMatchObject({ ok: true, value: { receives: receives === 'yes', rule } });
    // the origin is never a destination
    expect(routing.value.destinations.map((d) => d.siteId)).not.toContain(Number(from));
  });
});

describe("docs/sync-rules.md table S: the seed's worked stores", () => {
  it.each(seedRows)('%s: store %s active on %s, edited on %s, reaches %s, not on %s', (_n, store, _active, editedOn, reaches, notOn) => {
    const topology = setup('seed');
    const record = parseRecord(`stock_line@${store!}`);
    const editors = topology.sites.filter((s) => decideEdit(topology, s.id, record).ok).map((s) => s.id);
    expect(editors).toEqual([Number(editedOn)]);
    const routing = routeChange(topology, Number(editedOn), record);
    if (!routing.ok) throw new Error(routing.error.message);
    const list = (cell: string | undefined) => (cell === '-' ? [] : cell!.split(',').map((s) => Number(s.trim())));
    expect(routing.value.destinations.map((d) => d.siteId).sort()).toEqual(list(reaches).sort());
    expect(routing.value.withheld.map((d) => d.siteId).sort()).toEqual(list(notOn).sort());
  });
});

describe('docs/sync-rules.md table K: what the central keeps from a push', () => {
  it('has rows to check', () => expect(keptRows.length).toBeGreaterThanOrEqual(9));

  it.each(keptRows)('%s: %s, %s pushed by site %s -> kept %s (%s)', (_n, setupName, recordSpec, site, kept, ruleOrCode) => {
    const topology = setup(setupName!);
    const record = parseRecord(recordSpec!);
    const refusal = pushRefusal(topology, Number(site), record);
    if (kept === 'yes') {
      expect(refusal).toBeNull();
      expect(decideReceipt(topology, topology.central.id, record)).toMatchObject({ ok: true, value: { receives: true, rule: ruleOrCode } });
    } else {
      expect(refusal).toMatchObject({ code: ruleOrCode });
      expect(refusal!.fix.length).toBeGreaterThan(10);
    }
  });
});

describe('docs/sync-rules.md table O: which server syncs a record', () => {
  it('has rows to check', () => expect(serverRows.length).toBeGreaterThanOrEqual(10));

  it.each(serverRows)('%s: %s, %s pushed by site %s to the %s server -> kept %s (%s)', (_n, setupName, recordSpec, site, server, kept, ruleOrCode) => {
    const topology = setup(setupName!);
    const record = parseRecord(recordSpec!);
    const refusal = pushRefusal(topology, Number(site), record, undefined, server as SyncChannel);
    if (kept === 'yes') {
      expect(refusal).toBeNull();
      expect(syncChannelOf(topology, record.type)).toBe(server);
      // the server that keeps it routes it: the Open mSupply central receives every record of its types
      const keeper = server === 'oms-central' ? topology.omsCentral!.id : topology.central.id;
      expect(decideReceipt(topology, keeper, record)).toMatchObject({ ok: true, value: { receives: true, rule: ruleOrCode } });
    } else {
      expect(refusal).toMatchObject({ code: ruleOrCode });
      expect(refusal!.message).toMatch(/Open mSupply central/);
      expect(refusal!.fix.length).toBeGreaterThan(10);
    }
  });
});

describe('routing problems', () => {
  it('a transfer whose store has no copy on the other site reports the fix (R23)', () => {
    const routing = routeChange(setup('seed'), 2, parseRecord('transaction@F>C'));
    expect(routing).toMatchObject({
      ok: true,
      value: { problems: [{ code: 'transfer.store-has-no-copy', storeId: 'F', siteId: 3 }] },
    });
    if (routing.ok) expect(routing.value.problems[0]?.fix).toMatch(/transfer copy on site 3/);
  });

  it('a routing of a record with an unknown type is refused with the field', () => {
    expect(routeChange(setup('seed'), 1, parseRecord('widget'))).toMatchObject({ ok: false, error: { code: 'record.unknown-type', field: 'type' } });
  });
});
