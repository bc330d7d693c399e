import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CentralSyncGateway } from '@sitesync/domain';
import { createInMemoryStorage, InMemoryCentralSyncGateway, ManualClock, seedExampleTopology } from '@sitesync/testkit';
import { composeRemoteSite, type RemoteComposition } from '../src/container';
import type { SyncOutcome } from '../src/remote-config';

describe('a remote site (SQLite file, in-process central)', () => {
  const topology = seedExampleTopology();
  let dir: string;
  let remote: RemoteComposition;
  let central: ReturnType<typeof createInMemoryStorage>;
  let failing = false;

  beforeEach(async () => {
    failing = false;
    dir = mkdtempSync(join(tmpdir(), 'sitesync-remote-'));
    central = createInMemoryStorage();
    await central.storage.topology.save(topology);
    const clock = new ManualClock();
    const real = new InMemoryCentralSyncGateway(central, topology, 3, { clock });
    const gateway: CentralSyncGateway = {
      siteInfo: () => (failing ? Promise.reject(new TypeError('fetch failed')) : real.siteInfo()),
      push: (id, records) => real.push(id, records),
      pull: (cursor, limit, options) => real.pull(cursor, limit, options),
    };
    remote = await composeRemoteSite(join(dir, 'site.sqlite'), { gatewayFor: () => gateway, clock });
    await remote.site.init({ centralUrl: 'https://central.test', siteName: 'Remote site 2', passwordSha256: 'x', hardwareId: 'device' });
  });

  afterEach(async () => {
    await remote.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its settings in its own file: reopened, it is still the same site', async () => {
    await remote.close();
    remote = await composeRemoteSite(join(dir, 'site.sqlite'));
    expect(await remote.site.config()).toMatchObject({ siteId: 3, siteName: 'Remote site 2', hardwareId: 'device' });
    await expect(remote.site.init({ centralUrl: 'https://other.test', siteName: 'Other', passwordSha256: 'y', hardwareId: 'd2' })).rejects.toThrow(
      /already belongs to site "Remote site 2"/,
    );
  });

  it('keeps its data file readable by its owner only, and tightens a file open to others with a warning', async () => {
    const file = join(dir, 'site.sqlite');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await remote.close();
    chmodSync(file, 0o644);
    remote = await composeRemoteSite(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(remote.warnings).toEqual([expect.stringContaining('readable or writable by other users (mode 644)')]);
  });

  it('keeps its credentials out of the records: no record API shows or changes them', async () => {
    expect(await remote.site.listRecords('preference')).toEqual([]);
    const before = await remote.site.config();
    // the id and shape the settings record had before, with a central URL of an attacker's
    const put = await remote.site.putRecords([
      { type: 'preference', id: 'sitesync.remote-site', data: { centralUrl: 'http://attacker.test', passwordSha256: 'z', hardwareId: 'other' } },
    ]);
    expect(put.ok).toBe(true); // a local preference like any other...
    expect(await remote.site.config()).toEqual(before); // ...that is not the site's configuration
    const listed = JSON.stringify(await remote.site.listRecords('preference'));
    expect(listed).not.toContain(before!.passwordSha256);
    expect(listed).not.toContain(before!.hardwareId);
  });

  it('refuses a record it could not store or sync, naming the record and the limit, and writes nothing', async () => {
    const put = await remote.site.putRecords([
      { type: 'stock_line', id: 'sl-ok', storeId: 'D', data: { packs: 1 } },
      { type: 'stock_line', id: 'sl-nul', storeId: 'D', data: { note: 'a\u0000b' } },
    ]);
    expect(put.ok).toBe(false);
    if (!put.ok) expect(put.error).toEqual([expect.objectContaining({ code: 'record.invalid-text', message: expect.stringContaining('sl-nul') })]);
    expect(await remote.site.listRecords('stock_line')).toEqual([]);
  });

  /** `run`, stopped after its first cycle: what that cycle reported. */
  async function runOneCycle(): Promise<(SyncOutcome | Error)[]> {
    const controller = new AbortController();
    const cycles: (SyncOutcome | Error)[] = [];
    await remote.site.run({
      signal: controller.signal,
      onCycle: (o) => {
        cycles.push(o);
        controller.abort();
      },
    });
    return cycles;
  }

  it('run: syncs at once, then stops when asked', async () => {
    await remote.site.putRecords([{ type: 'stock_line', id: 'sl-1', storeId: 'D', data: {} }]);
    const cycles = await runOneCycle();
    expect(cycles).toEqual([expect.objectContaining({ pushed: 1 })]);
    expect(await central.storage.records.get('stock_line', 'sl-1')).not.toBeNull();
  });

  it('run: a cycle that cannot reach the central is reported and retried, not fatal', async () => {
    failing = true;
    const cycles = await runOneCycle();
    expect(cycles).toEqual([expect.objectContaining({ message: 'fetch failed' })]);
    expect((await remote.site.status()).lastSyncedAt).toBeNull();
  });

  it('status counts only what will be pushed', async () => {
    await remote.site.putRecords([
      { type: 'stock_line', id: 'sl-1', storeId: 'D', data: {} },
      { type: 'log', id: 'log-1', data: {} },
    ]);
    expect((await remote.site.status()).waitingToPush).toBe(1);
  });
});
