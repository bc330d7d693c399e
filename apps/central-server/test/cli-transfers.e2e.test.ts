import { startCliNetwork, type CliNetwork } from './cli-process';

/**
 * A transfer as an operator meets it, with real processes only (issue 12): `sitesync-central serve`
 * on embedded PGlite, two `sitesync-remote` data files. A customer invoice and its lines entered in
 * one `record put` arrive as a supplier invoice with what was copied; the sender sees it received
 * and finalised; a later change of the sender is refused with the fix; a bad `record put` names the
 * record and the field.
 */
let net: CliNetwork;
const remote = (file: string, ...args: string[]) => net.remote(file, ...args);
const remoteRun = (file: string, ...args: string[]) => net.remoteRun(file, ...args);
type Listed = { id: string; storeId: string; deleted?: boolean; data: Record<string, unknown> };
const list = async (file: string, type: string): Promise<Map<string, Listed>> =>
  new Map((JSON.parse(await remote(file, 'record', 'list', '--type', type)) as Listed[]).map((r) => [r.id, r]));

beforeAll(async () => {
  net = await startCliNetwork('cli-transfers', 'cli-transfers-admin-token', async (admin) => {
    await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
    await admin('store', 'add', '--code', 'B', '--name', 'South hospital', '--active-site', '3');
    await admin('store', 'copy', '--store', 'A', '--site', '3', '--type', 'transfer');
    await admin('store', 'copy', '--store', 'B', '--site', '2', '--type', 'transfer');
  });
}, 60_000);

afterAll(() => net.stop());

const invoice = JSON.stringify([
  {
    type: 'transaction',
    id: 'ci-7',
    storeId: 'A',
    otherPartyStoreId: 'B',
    data: { kind: 'customer_invoice', status: 'finalised', serialNumber: 7, reference: 'PO-55', lineCount: 2 },
  },
  {
    type: 'transaction_line',
    id: 'ci-7-l1',
    storeId: 'A',
    otherPartyStoreId: 'B',
    data: { transactionId: 'ci-7', itemId: 'amox', itemName: 'Amoxicillin 250mg', packSize: 100, numberOfPacks: 2, quantity: 200, sellPrice: 0.05 },
  },
  { type: 'transaction_line', id: 'ci-7-l2', storeId: 'A', otherPartyStoreId: 'B', data: { transactionId: 'ci-7', itemId: 'ors', quantity: 50 } },
]);

it('a customer invoice entered with its lines reaches South as a supplier invoice; North sees it received, then finalised; a later change is refused', async () => {
  expect(await remote('north.sqlite', 'record', 'put', '--json', invoice)).toMatch(/written 3/);
  await remote('north.sqlite', 'sync');
  await remote('south.sqlite', 'sync');

  const si = (await list('south.sqlite', 'transaction')).get('ci-7.si')!;
  expect(si).toMatchObject({ storeId: 'B', data: { kind: 'supplier_invoice', onHold: true, senderSerialNumber: 7, reference: 'PO-55' } });
  expect(si.data['serialNumber']).toBe(1);
  expect(si.data['theirReference']).toMatch(/invoice number 7 \(PO-55\)/);
  expect((await list('south.sqlite', 'transaction_line')).get('ci-7-l1.si')).toMatchObject({
    data: { itemName: 'Amoxicillin 250mg', packSize: 100, numberOfPacks: 2, quantity: 200, costPrice: 0.05 },
  });

  // South receives it: North learns the number at its next sync
  await remote('north.sqlite', 'sync');
  expect((await list('north.sqlite', 'transaction')).get('ci-7')!.data['response']).toMatchObject({ state: 'received', serialNumber: 1 });

  // South finalises it (the whole record back, as an app would write it)
  const finalised = { ...si, type: 'transaction', data: { ...si.data, status: 'finalised', onHold: false } };
  await remote('south.sqlite', 'record', 'put', '--json', JSON.stringify(finalised));
  await remote('south.sqlite', 'sync');
  await remote('north.sqlite', 'sync');
  expect((await list('north.sqlite', 'transaction')).get('ci-7')!.data['response']).toMatchObject({ state: 'finalised', serialNumber: 1 });

  // now North may not change what it sent: exit 2, the rule and the fix
  const line = (await list('north.sqlite', 'transaction_line')).get('ci-7-l2')!;
  const changed = await remoteRun(
    'north.sqlite',
    'record',
    'put',
    '--json',
    JSON.stringify({ ...line, type: 'transaction_line', data: { ...line.data, quantity: 45 } }),
  );
  expect(changed.code).toBe(2);
  expect(changed.stderr).toMatch(/refused transfer\.responding-half-touched: customer invoice ci-7 changed after store B "South hospital" received it/);
  expect(changed.stderr).toMatch(/fix: .*credit or return/);
  expect((await list('north.sqlite', 'transaction_line')).get('ci-7-l2')!.data['quantity']).toBe(50);
}, 60_000);

it('record put names the record and the field it cannot take, and never retypes a record', async () => {
  const mismatch = await remoteRun(
    'north.sqlite',
    'record',
    'put',
    '--type',
    'transaction',
    '--json',
    JSON.stringify([{ type: 'transaction_line', id: 'x', data: {} }]),
  );
  expect(mismatch.code).toBe(1);
  expect(mismatch.stderr).toMatch(/record 1 of --json says "type": "transaction_line" but --type is "transaction"/);
  const noId = await remoteRun('north.sqlite', 'record', 'put', '--type', 'stock_line', '--json', JSON.stringify({ storeId: 'A', data: {} }));
  expect(noId.code).toBe(1);
  expect(noId.stderr).toMatch(/record 1 of --json: id: /);
  const tombstone = await remoteRun(
    'north.sqlite',
    'record',
    'put',
    '--json',
    JSON.stringify({ type: 'transaction_line', id: 'ci-7-l1', storeId: 'A', otherPartyStoreId: 'B', deleted: true, data: {} }),
  );
  expect(tombstone.code).toBe(2);
  expect(tombstone.stderr).toMatch(/record\.tombstone-without-header/);
  expect((await list('north.sqlite', 'transaction_line')).get('ci-7-l1')!.deleted).toBeUndefined();
});

it('site set and site remove: fields changed, the Open mSupply central flagged, a site with stores not deleted, a spare one deleted', async () => {
  // every store on the Open mSupply central server runs in dispensary mode: refused until South's store is one
  const notDispensary = await net.adminRun('site', 'set', '--site', '3', '--oms-central', 'on', '--oms-central-url', 'https://oms.example.org:8000');
  expect(notDispensary.code).not.toBe(0);
  expect(notDispensary.stderr).toMatch(/topology\.oms-central-store-not-dispensary/);
  expect(notDispensary.stderr).toMatch(/store set --store B --dispensary on/);
  await net.admin('store', 'set', '--store', 'B', '--dispensary', 'on');
  const changed = JSON.parse(
    await net.admin(
      'site',
      'set',
      '--site',
      '3',
      '--interval',
      '30',
      '--request-size',
      '1000',
      '--oms-central',
      'on',
      '--oms-central-url',
      'https://oms.example.org:8000',
      '--json',
    ),
  ) as Record<string, unknown>;
  expect(changed).toMatchObject({ id: 3, syncIntervalMinutes: 30, requestSize: 1000, roles: ['oms-central'], omsCentralUrl: 'https://oms.example.org:8000' });

  const refused = await net.adminRun('site', 'remove', '--site', '2');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/site 2 "North" still has store A "North warehouse" active on it\. Fix: Remove its stores first/);

  const spare = JSON.parse(await net.admin('site', 'add', '--name', 'Spare', '--password', 'a long spare password', '--json')) as { id: number };
  expect(JSON.parse(await net.admin('site', 'remove', '--site', String(spare.id), '--json'))).toMatchObject({ deleted: { id: spare.id, name: 'Spare' } });
  expect((JSON.parse(await net.admin('site', 'list', '--json')) as { name: string }[]).map((s) => s.name)).toEqual(['central', 'North', 'South']);
});
