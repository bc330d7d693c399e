import {
  explainIssue,
  explainRecord,
  parseQuarantineKey,
  patientsOf,
  PullServer,
  pushRefusal,
  quarantineKey,
  visibilityContext,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';
import { parseRecord, setup, tableRows, VISIBILITY } from './decision-tables';

const decisionOf = (topology: Topology, record: SyncRecord, siteId: number) =>
  explainRecord(topology, record, VISIBILITY).sites.find((s) => s.siteId === siteId);

describe('explainRecord: every site, with the rule and the reason, by the rules sync uses', () => {
  it.each(tableRows('R'))('table R %s: %s, %s from site %s: site %s receives %s (%s)', (_n, setupName, spec, _from, to, receives, rule) => {
    expect(decisionOf(setup(setupName!), parseRecord(spec!), Number(to))).toMatchObject({ receives: receives === 'yes', rule });
  });

  it.each(tableRows('E'))('table E %s: %s, %s on site %s may edit %s (%s)', (_n, setupName, spec, site, mayEdit, rule) => {
    expect(decisionOf(setup(setupName!), parseRecord(spec!), Number(site))).toMatchObject({ mayEdit: mayEdit === 'yes', editRule: rule });
  });

  it("answers for a store's stock line on every site: its active site edits it, the central collects it, the other site has nothing", () => {
    const topology = setup('seed');
    const explained = explainRecord(topology, parseRecord('stock_line@D'));
    expect(explained.record).toMatchObject({ type: 'stock_line', storeId: 'D', category: 'store', label: 'Stock and replenishments' });
    expect(explained.sites.map((s) => [s.siteId, s.siteName, s.receives, s.rule, s.mayEdit, s.editRule])).toEqual([
      [1, 'Sync server', true, 'store-to-collector', false, 'edit.store-not-active-here'],
      [2, 'Remote site 1', false, 'store-withheld', false, 'edit.store-not-active-here'],
      [3, 'Remote site 2', true, 'store-to-active-site', true, 'store-on-active-site'],
    ]);
    const central = explained.sites[0]!;
    expect(central.reason).toMatch(/collector copy here/);
    expect(central.editReason).toMatch(/only the site where the store is active \(site 3 "Remote site 2"\)/);
    expect(central.editFix).toMatch(/Make this change on site 3/);
    expect(explained.sites[2]!.editFix).toBeNull();
    expect(explained.problems).toEqual([]);
  });

  it('names the missing copy of a transfer, with the fix', () => {
    const explained = explainRecord(setup('seed'), parseRecord('transaction@F>C'));
    expect(explained.sites.find((s) => s.siteId === 3)).toMatchObject({ receives: false, rule: 'transfer-needs-copy' });
    expect(explained.problems).toEqual([
      expect.objectContaining({ code: 'transfer.store-has-no-copy', fix: expect.stringMatching(/give store F .* a transfer copy on site 3/) }),
    ]);
  });

  it('a record naming an unknown store goes nowhere and may be edited nowhere, and says which field to correct', () => {
    const explained = explainRecord(setup('seed'), parseRecord('stock_line@Z'));
    expect(explained.record.category).toBeNull();
    expect(explained.sites.every((s) => !s.receives && !s.mayEdit && s.rule === 'record.unknown-store' && s.editRule === 'record.unknown-store')).toBe(true);
    expect(explained.problems).toEqual([expect.objectContaining({ code: 'record.unknown-store', field: 'storeId' })]);
  });

  it('patient data follows the visibility the central holds: what explain says is what a pull sends', async () => {
    const topology = setup('dispensary');
    const central = createInMemoryStorage();
    const records: SyncRecord[] = [
      { type: 'name_store_join', id: 'nsj-p1-B', storeId: 'B', patientId: 'p1', data: {} },
      { type: 'patient', id: 'pat-1', patientId: 'p1', homeStoreId: 'G', data: { name: 'One' } },
      { type: 'patient', id: 'pat-2', patientId: 'p2', homeStoreId: 'G', data: { name: 'Two' } },
    ];
    await central.run(async (s) => {
      await s.topology.save(topology);
      await s.records.upsert(records, { sourceSiteId: 1, viaSync: false });
    });
    const patients = records.filter((r) => r.type === 'patient');
    const context = await central.run((s) => visibilityContext(s, patientsOf(patients)));
    const pulls = new PullServer();
    for (const siteId of [2, 3]) {
      const pulled = await central.run((s) => pulls.pull(s, async () => topology, siteId, { cursor: 0n, limit: 100 }));
      const sent = new Set(pulled.records.filter((r) => r.type === 'patient').map((r) => r.id));
      for (const patient of patients) {
        expect([siteId, patient.id, explainRecord(topology, patient, context).sites.find((s) => s.siteId === siteId)!.receives]).toEqual([
          siteId,
          patient.id,
          sent.has(patient.id),
        ]);
      }
    }
    expect(explainRecord(topology, patients[0]!, context).sites.find((s) => s.siteId === 2)).toMatchObject({
      receives: true,
      rule: 'patient-to-visible-stores',
    });
    expect(explainRecord(topology, patients[1]!, context).sites.find((s) => s.siteId === 2)).toMatchObject({ receives: false, rule: 'patient-withheld' });
  });
});

describe('explainIssue: a refused push, its rule and what is needed', () => {
  const refusedLine = parseRecord('stock_line@D', 'sl-9');
  const refusal = pushRefusal(setup('seed'), 2, refusedLine)!;

  it('reads quarantine keys and no others', () => {
    expect(parseQuarantineKey(quarantineKey(2, refusedLine))).toEqual({ siteId: 2, recordType: 'stock_line', recordId: 'sl-9' });
    expect(parseQuarantineKey('quarantine:2:transaction:inv:with:colons')).toEqual({ siteId: 2, recordType: 'transaction', recordId: 'inv:with:colons' });
    expect(parseQuarantineKey('transfer-conflict:transaction:ci-1')).toBeNull();
    expect(parseQuarantineKey('quarantine-dropped:2')).toBeNull();
  });

  it('an edit refusal kept without its record: the site, the edit rule, the site that may send it, the fix', () => {
    const explained = explainIssue(setup('seed'), { key: quarantineKey(2, refusedLine), violation: refusal });
    expect(explained).toMatchObject({ kind: 'quarantine', violation: { code: 'edit.store-not-active-here' } });
    expect(explained.quarantine).toMatchObject({
      siteId: 2,
      siteName: 'Remote site 1',
      recordType: 'stock_line',
      recordId: 'sl-9',
      rule: 'store-on-active-site',
      code: 'edit.store-not-active-here',
      editorSite: { siteId: 3, siteName: 'Remote site 2' },
      subject: null,
      now: null,
      needed: [refusal.fix],
    });
    expect(explained.quarantine!.ruleText).toMatch(/only the site where the store is active/);
  });

  it('kept with its record: every site explained, the check run again, and who may send it', () => {
    const explained = explainIssue(setup('seed'), { key: quarantineKey(2, refusedLine), violation: refusal, subject: refusedLine });
    const q = explained.quarantine!;
    expect(q.now).toMatchObject({ refused: true, code: 'edit.store-not-active-here' });
    expect(q.subject!.sites.filter((s) => s.mayEdit).map((s) => s.siteId)).toEqual([3]);
    expect(q.needed).toContain('Only site 3 "Remote site 2" may send stock_line sl-9 (store-on-active-site).');
  });

  it('a record the central does not keep: the routing rule that leaves it out', () => {
    const record = parseRecord('stock_line@F', 'sl-f');
    const topology = setup('seed');
    const violation = pushRefusal(topology, 2, record)!;
    const q = explainIssue(topology, { key: quarantineKey(2, record), violation, subject: record }).quarantine!;
    expect(q).toMatchObject({ rule: 'push.not-kept-on-central', now: { refused: true, code: 'push.not-kept-on-central' } });
    expect(q.needed.some((line) => line.startsWith('The central does not keep stock_line sl-f (store-withheld)'))).toBe(true);
  });

  it('says when the configuration changed since and the central would keep it now', () => {
    const moved = setup('seed').updateStore('D', { activeSiteId: 2, copies: [{ siteId: 1, type: 'collector' }] });
    if (!moved.ok) throw new Error(JSON.stringify(moved.error));
    const q = explainIssue(moved.value, { key: quarantineKey(2, refusedLine), violation: refusal, subject: refusedLine }).quarantine!;
    expect(q.now).toEqual({ refused: false });
    expect(q.needed[0]).toMatch(/would keep stock_line sl-9 from site 2 "Remote site 1" now/);
  });

  it('any other issue: its violation only', () => {
    const violation = { code: 'transfer.store-has-no-copy', rule: 'both stores of a transfer exist on both sites', message: 'm', fix: 'f' };
    expect(explainIssue(setup('seed'), { key: 'transfer:transaction:ci-1', violation })).toEqual({
      key: 'transfer:transaction:ci-1',
      kind: 'transfer',
      violation,
      quarantine: null,
    });
  });
});
