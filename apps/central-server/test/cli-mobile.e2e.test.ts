import { useCentralProcess } from './cli-process';

/**
 * A mobile site holds exactly one store (topology.mobile-site-several-stores), through the built
 * `sitesync-central` against a central process: a second store made active on the mobile site, and a
 * store moved onto it, are refused (exit 1) with the rule's message and fix, and change nothing.
 */
const { admin, adminRun } = useCentralProcess('cli-mobile', 'cli-mobile-token', async ({ admin, passwordFile }) => {
  await admin('site', 'add', '--name', 'North', '--password-file', passwordFile);
  await admin('site', 'add', '--name', 'Mobile clinic', '--type', 'mobile', '--password-file', passwordFile);
  await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
  await admin('store', 'add', '--code', 'M', '--name', 'Mobile clinic store', '--active-site', '3');
});
/** the stores and sites as scripts read them, and the sync report's waiting counts */
const state = async () => ({
  stores: JSON.parse(await admin('store', 'list', '--json')) as unknown,
  sites: (JSON.parse(await admin('site', 'list', '--json')) as { id: number; waiting: number | null; deviceType: string }[]).map((s) => ({
    id: s.id,
    waiting: s.waiting,
    deviceType: s.deviceType,
  })),
});

const expectRefusedByTheRule = (run: { code: number | null; stdout: string; stderr: string }) => {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain('Mobile site 3 "Mobile clinic" would hold 2 stores');
  expect(run.stderr).toContain('Fix: Keep one store on the mobile site; make the others active on a desktop site or the central.');
  expect(run.stderr).toContain('rule: topology.mobile-site-several-stores (a mobile site holds at most one store)');
};

it('refuses a second store on a mobile site with the rule, and adds nothing', async () => {
  const before = await state();
  expectRefusedByTheRule(await adminRun('store', 'add', '--code', 'M2', '--name', 'Second store', '--active-site', '3'));
  expect(await state()).toEqual(before);
  expect(await admin('store', 'list')).not.toContain('M2');
});

it('refuses moving a store onto a mobile site that already has one (even with --force), and moves nothing', async () => {
  const before = await state();
  expectRefusedByTheRule(await adminRun('store', 'move', '--store', 'A', '--to-site', '3', '--force'));
  expect(await state()).toEqual(before);
  expect(await admin('store', 'list')).toMatch(/^A +A +North warehouse +site 2 /m);
});
