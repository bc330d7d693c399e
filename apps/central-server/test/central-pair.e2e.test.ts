import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FAILED_LOGINS } from '@sitesync/domain';
import { AdminClient, HEADERS, sha256Hex, SYNC_API_VERSION } from '@sitesync/http';
import { Pool } from 'pg';
import { startCentralProcess } from './cli-process';
import { PG_URL } from './cluster';

/**
 * Two `sitesync-central serve` processes on one Postgres database, as behind a load balancer:
 * what one process writes, the other sees at its next request, and writes made at the same moment
 * through both are all kept (nothing correct lives in one process's memory).
 */
const ADMIN_TOKEN = 'pair-admin-token';

async function login(url: string, siteName: string, password: string, hardwareId: string): Promise<{ status: number; code: string | null }> {
  const res = await fetch(`${url}/sync/v1/site`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${siteName}:${sha256Hex(password)}`).toString('base64')}`,
      [HEADERS.hardwareId]: hardwareId,
      [HEADERS.apiVersion]: String(SYNC_API_VERSION),
      // each attempt from its own address (the central trusts no proxy here: the per-source limit counts them all; keep under it)
    },
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code ?? null };
}

(PG_URL ? describe : describe.skip)('two central processes on one Postgres database', () => {
  let dir = '';
  let schema = '';
  let pool: Pool;
  let a: Awaited<ReturnType<typeof startCentralProcess>>;
  let b: Awaited<ReturnType<typeof startCentralProcess>>;
  let adminA: AdminClient;
  let adminB: AdminClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sitesync-pair-'));
    schema = `sitesync_pair_${process.pid}_${Date.now().toString(36)}`;
    pool = new Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`create schema ${schema}`);
    const url = new URL(PG_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    // started at the same moment on a new database: it is migrated and given its central site once
    [a, b] = await Promise.all([
      startCentralProcess(join(dir, 'a'), ADMIN_TOKEN, { databaseUrl: url.toString() }),
      startCentralProcess(join(dir, 'b'), ADMIN_TOKEN, { databaseUrl: url.toString() }),
    ]);
    adminA = new AdminClient({ baseUrl: a.url, adminToken: ADMIN_TOKEN });
    adminB = new AdminClient({ baseUrl: b.url, adminToken: ADMIN_TOKEN });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts on a new database once: one central site, whichever process created it', async () => {
    const [fromA, fromB] = await Promise.all([adminA.listSites(), adminB.listSites()]);
    expect(fromA.map((s) => s.id)).toEqual([1]);
    expect(fromB).toEqual(fromA);
  });

  it('keeps every topology change made through both processes at the same moment', async () => {
    const sites = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? adminA : adminB).addSite({ name: `pair-site-${i}`, password: `pw-${i}` })),
    );
    expect(new Set(sites.map((s) => s.id)).size).toBe(6); // no id given twice
    await Promise.all(sites.map((site, i) => (i % 2 === 0 ? adminB : adminA).addStore({ code: `PS${i}`, name: `Pair store ${i}`, activeSiteId: site.id })));
    for (const admin of [adminA, adminB]) {
      expect(
        (await admin.listStores())
          .map((s) => s.id)
          .filter((id) => id.startsWith('PS'))
          .sort(),
      ).toEqual(['PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'PS5']);
      expect((await admin.listSites()).filter((s) => s.name.startsWith('pair-site-'))).toHaveLength(6);
    }
  });

  it('a rename on one process is seen by the other at the next login: the old name is refused there, the new one accepted', async () => {
    const site = await adminA.addSite({ name: 'to-rename', password: 'rename-pw' });
    expect((await login(b.url, 'to-rename', 'rename-pw', 'dev-r')).status).toBe(200); // b now holds the topology in memory
    await adminA.patchSite(site.id, { name: 'renamed' });
    expect(await login(b.url, 'to-rename', 'rename-pw', 'dev-r')).toEqual({ status: 401, code: 'site_auth_failed' });
    expect((await login(b.url, 'renamed', 'rename-pw', 'dev-r')).status).toBe(200);
  });

  it('counts wrong passwords sent to both processes at once without losing one: the site is blocked at the limit, on both', async () => {
    const site = await adminB.addSite({ name: 'guessed', password: 'right-pw' });
    expect((await login(a.url, 'guessed', 'right-pw', 'dev-g')).status).toBe(200); // binds the device: its wrong passwords count
    const attempts = MAX_FAILED_LOGINS - 1;
    await Promise.all(Array.from({ length: attempts }, (_, i) => login(i % 2 === 0 ? a.url : b.url, 'guessed', 'wrong', 'dev-g')));
    const counted = (await adminA.listSites()).find((s) => s.id === site.id)!;
    expect([counted.failedLoginCount, counted.blocked]).toEqual([attempts, false]);
    expect((await login(b.url, 'guessed', 'wrong', 'dev-g')).status).toBe(401);
    // blocked through b: a refuses the right password too, and shows it blocked
    expect(await login(a.url, 'guessed', 'right-pw', 'dev-g')).toEqual({ status: 403, code: 'site_blocked' });
    expect((await adminA.listSites()).find((s) => s.id === site.id)).toMatchObject({ failedLoginCount: MAX_FAILED_LOGINS, blocked: true });
    await adminB.unblockSite(site.id);
    expect((await login(a.url, 'guessed', 'right-pw', 'dev-g')).status).toBe(200);
  });

  it("binds a site's device once when its first logins reach both processes at the same moment", async () => {
    const site = await adminA.addSite({ name: 'two-devices', password: 'dev-pw' });
    const answers = await Promise.all([login(a.url, 'two-devices', 'dev-pw', 'device-1'), login(b.url, 'two-devices', 'dev-pw', 'device-2')]);
    // one is bound; the other, decided again on the bound site, is refused as another device
    expect(answers.map((x) => x.code ?? 'accepted').sort()).toEqual(['accepted', 'site_incorrect_hardware_id']);
    const winner = answers[0]!.status === 200 ? 'device-1' : 'device-2';
    const bound = (await adminB.listSites()).find((s) => s.id === site.id)!;
    expect(bound.hardwareId).toBe(winner);
    expect((await login(b.url, 'two-devices', 'dev-pw', winner)).status).toBe(200);
    expect((await login(a.url, 'two-devices', 'dev-pw', winner === 'device-1' ? 'device-2' : 'device-1')).code).toBe('site_incorrect_hardware_id');
  });

  it('keeps every admin token issued through both processes at once, and a revocation on one is refused on the other at once', async () => {
    const issued = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? adminA : adminB).issueToken('viewer', `pair-${i}`)));
    const listed = await adminB.listTokens();
    for (const token of issued) expect(listed.map((t) => t.id)).toContain(token.id);
    const viewerOnB = new AdminClient({ baseUrl: b.url, adminToken: issued[0]!.token });
    expect((await viewerOnB.listSites()).length).toBeGreaterThan(0);
    await adminA.revokeToken(issued[0]!.id);
    await expect(viewerOnB.listSites()).rejects.toThrow();
  });
});
