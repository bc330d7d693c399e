import { useCentralProcess } from './cli-process';

/**
 * Through the built `sitesync-central` against a central process: the centralised procurement
 * preference (set on the primary, followed by the satellites, overridden by one), refused as a store
 * setting, the primary role moved to a remote site (mirrored sync), refused first with the rule, and a
 * second Open mSupply central refused.
 */
const { admin, adminRun } = useCentralProcess('cli-primary', 'cli-primary-token', async ({ admin, passwordFile }) => {
  await admin('site', 'add', '--name', 'North', '--password-file', passwordFile);
  await admin('site', 'add', '--name', 'South', '--password-file', passwordFile);
  await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
  await admin('store', 'add', '--code', 'B', '--name', 'South clinic', '--active-site', '3');
});
const procurementOf = async () =>
  Object.fromEntries(
    (JSON.parse(await admin('store', 'list', '--json')) as { id: string; centralisedProcurement: boolean }[]).map((s) => [s.id, s.centralisedProcurement]),
  );

it('sets centralised procurement on the primary for every store; a satellite overrides it; a store setting is refused with the pointer', async () => {
  expect(await admin('site', 'set', '--site', '1', '--centralised-procurement', 'on')).toMatch(/centralised procurement:\s+on/);
  expect(await procurementOf()).toEqual({ A: true, B: true });
  expect(await admin('site', 'set', '--site', '3', '--centralised-procurement', 'off')).toMatch(/centralised procurement:\s+off \(local procurement\)/);
  expect(await procurementOf()).toEqual({ A: true, B: false });
  expect(JSON.parse(await admin('site', 'set', '--site', '3', '--centralised-procurement', 'follow', '--json'))).toMatchObject({
    centralisedProcurement: null,
  });
  expect(await procurementOf()).toEqual({ A: true, B: true });

  const unknown = await adminRun('store', 'set', '--store', 'B', '--centralised-procurement', 'off');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/unknown option '--centralised-procurement'/);
});

it('moves the primary role to a site once it holds every store, with the rule named before', async () => {
  const refused = await adminRun('site', 'make-primary', '--site', '2');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('rule: topology.store-missing-on-primary');
  await admin('store', 'copy', '--store', 'B', '--site', '2', '--type', 'collector');
  expect(await admin('site', 'make-primary', '--site', '2')).toMatch(/the primary role moved from site 1 central to site 2 North/);
  const sites = JSON.parse(await admin('site', 'list', '--json')) as { id: number; roles: string[]; centralisedProcurement: boolean | null }[];
  expect(sites.find((s) => s.id === 2)).toMatchObject({ roles: ['primary'], centralisedProcurement: true });
  expect(sites.find((s) => s.id === 1)).toMatchObject({ roles: ['central'], centralisedProcurement: null });
});

it('flags one Open mSupply central; a second one is refused with the rule, and the first stays', async () => {
  // every store on the Open mSupply central server runs in dispensary mode (South's store B)
  await admin('store', 'set', '--store', 'B', '--dispensary', 'on');
  await admin('site', 'set', '--site', '3', '--oms-central', 'on', '--oms-central-url', 'https://oms.example.org:8000');
  const second = await adminRun('site', 'set', '--site', '1', '--oms-central', 'on', '--oms-central-url', 'https://other.example.org');
  expect(second.code).toBe(1);
  expect(second.stderr).toContain('rule: topology.several-oms-centrals');
  const sites = JSON.parse(await admin('site', 'list', '--json')) as { id: number; roles: string[]; omsCentralUrl: string | null }[];
  expect(sites.filter((s) => s.roles.includes('oms-central')).map((s) => [s.id, s.omsCentralUrl])).toEqual([[3, 'https://oms.example.org:8000']]);
});
