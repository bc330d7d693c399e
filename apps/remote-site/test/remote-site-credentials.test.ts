import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncHttpError } from '@sitesync/http';
import { createInMemoryStorage, InMemoryCentralSyncGateway, ManualClock, seedExampleTopology } from '@sitesync/testkit';
import { CentralRefusalError } from '../src/central-refusals';
import { composeRemoteSite, type RemoteComposition } from '../src/container';
import { CREDENTIALS_RETRY_MS, type GatewayConfig, type SyncOutcome } from '../src/remote-config';

/**
 * The remote site (in process, SQLite file) when the central refuses its credentials or its device:
 * the error says what no longer matches and which command fixes it; `update` checks the new
 * credentials before saving them; `run` does not spend the site's failed logins on credentials that
 * were refused and have not changed.
 */
describe('a remote site whose credentials or device the central refuses', () => {
  const topology = seedExampleTopology();
  let dir: string;
  let remote: RemoteComposition;
  let clock: ManualClock;
  /** what the central accepts now */
  let accepted: { siteName: string; passwordSha256: string; hardwareId: string };
  let device: string;
  let attempts: GatewayConfig[];

  const refusal = (code: 'site_auth_failed' | 'site_incorrect_hardware_id') =>
    SyncHttpError.of(code, code === 'site_auth_failed' ? 'Wrong site name or password.' : 'Site "Remote site 2" is bound to another device.');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sitesync-remote-credentials-'));
    const central = createInMemoryStorage();
    await central.storage.topology.save(topology);
    clock = new ManualClock();
    const real = new InMemoryCentralSyncGateway(central, topology, 3, { clock });
    accepted = { siteName: 'Remote site 2', passwordSha256: 'old', hardwareId: 'machine-a' };
    device = 'machine-a';
    attempts = [];
    const check = <T>(config: GatewayConfig, call: () => Promise<T>): Promise<T> => {
      if (config.siteName !== accepted.siteName || config.passwordSha256 !== accepted.passwordSha256) return Promise.reject(refusal('site_auth_failed'));
      if (config.hardwareId !== accepted.hardwareId) return Promise.reject(refusal('site_incorrect_hardware_id'));
      return call();
    };
    remote = await composeRemoteSite(join(dir, 'site.sqlite'), {
      clock,
      device: () => ({ hardwareId: device, source: 'the test' }),
      gatewayFor: (config) => {
        attempts.push(config);
        return {
          siteInfo: () => check(config, () => real.siteInfo()),
          push: (id, records) => check(config, () => real.push(id, records)),
          pull: (cursor, limit, options) => check(config, () => real.pull(cursor, limit, options)),
        };
      },
    });
    await remote.site.init({ centralUrl: 'https://central.test', siteName: 'Remote site 2', passwordSha256: 'old' });
  });

  afterEach(async () => {
    await remote.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the device’s hardware id, not the one in the file, and names both when the central refuses it', async () => {
    expect(attempts.at(-1)!.hardwareId).toBe('machine-a');
    await remote.site.sync();
    device = 'machine-b';
    const error = await remote.site.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CentralRefusalError);
    expect((error as Error).message).toContain(
      'refuses this device for site 3 "Remote site 2": the site is bound to another device (this device\'s hardware id is machine-b, from the test). This data file was last used on another device (hardware id machine-a)',
    );
    expect((error as Error).message).toContain('`sitesync-central site reset-hardware-id --site 3`');
    expect(attempts.at(-1)!.hardwareId).toBe('machine-b');
  });

  it('after a new password on the central: the sync says so, update refuses a wrong one and saves the right one, the next sync works', async () => {
    accepted = { ...accepted, passwordSha256: 'new' };
    await expect(remote.site.sync()).rejects.toThrow(
      /refused the site name "Remote site 2" or the password this data file holds: they no longer match the central's .*`sitesync-remote update --site-name NEW-NAME` and\/or `--password-file FILE`/,
    );
    await expect(remote.site.update({ passwordSha256: 'wrong' })).rejects.toThrow(/or the password given: nothing was saved/);
    expect((await remote.site.config())!.passwordSha256).toBe('old');
    await expect(remote.site.update({ passwordSha256: 'new' })).resolves.toMatchObject({ changed: ['password'] });
    expect((await remote.site.config())!.passwordSha256).toBe('new');
    await expect(remote.site.sync()).resolves.toMatchObject({ pushed: 0 });
  });

  it('run does not try refused credentials again until they change (or an hour passed): each refusal counts towards blocking the site', async () => {
    accepted = { ...accepted, passwordSha256: 'new' };
    const controller = new AbortController();
    const outcomes: (SyncOutcome | Error)[] = [];
    let slept = 0;
    const running = remote.site.run({
      signal: controller.signal,
      intervalMinutes: 10,
      onCycle: (o) => outcomes.push(o),
      sleep: async (ms) => {
        clock.advance(ms);
        slept += ms;
        if (slept >= 30 * 60_000 && (await remote.site.config())!.passwordSha256 === 'old') {
          // half an hour later the operator gives the file the new password
          await remote.site.update({ passwordSha256: 'new' });
        }
        if (outcomes.some((o) => !(o instanceof Error))) controller.abort();
      },
    });
    await running;
    const refusals = outcomes.filter((o) => o instanceof CentralRefusalError);
    expect(refusals).toHaveLength(1);
    expect(outcomes.at(-1)).toMatchObject({ pushed: 0 });
    expect(slept).toBeLessThan(CREDENTIALS_RETRY_MS);
  });

  it('run tries refused credentials again after an hour (they may have been restored on the central)', async () => {
    accepted = { ...accepted, passwordSha256: 'new' };
    const controller = new AbortController();
    const outcomes: (SyncOutcome | Error)[] = [];
    let slept = 0;
    await remote.site.run({
      signal: controller.signal,
      intervalMinutes: 10,
      onCycle: (o) => outcomes.push(o),
      sleep: async (ms) => {
        clock.advance(ms);
        slept += ms;
        if (slept >= 3 * CREDENTIALS_RETRY_MS) {
          accepted = { ...accepted, passwordSha256: 'old' };
        }
        if (outcomes.some((o) => !(o instanceof Error))) controller.abort();
      },
    });
    expect(outcomes.filter((o) => o instanceof CentralRefusalError)).toHaveLength(3);
    expect(outcomes.at(-1)).toMatchObject({ pushed: 0 });
  });

  it('tells a file bound by an earlier version (a random id kept in the file) that the central must release that id once', async () => {
    const old = '6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c';
    await remote.close();
    const central = createInMemoryStorage();
    await central.storage.topology.save(topology);
    const real = new InMemoryCentralSyncGateway(central, topology, 3, { clock });
    const bound = { hardwareId: old };
    const gatewayFor = (config: GatewayConfig) => ({
      siteInfo: () => (config.hardwareId === bound.hardwareId ? real.siteInfo() : Promise.reject(refusal('site_incorrect_hardware_id'))),
      push: (id: string, records: Parameters<typeof real.push>[1]) => real.push(id, records),
      pull: (cursor: bigint, limit: number) => real.pull(cursor, limit),
    });
    const file = join(dir, 'old.sqlite');
    // an earlier version: no device, the random id made at init kept in the file and sent
    remote = await composeRemoteSite(file, { clock, gatewayFor });
    await remote.site.init({ centralUrl: 'https://central.test', siteName: 'Remote site 2', passwordSha256: 'old', hardwareId: old });
    await remote.site.sync();
    await remote.close();
    remote = await composeRemoteSite(file, { clock, gatewayFor, device: () => ({ hardwareId: 'a'.repeat(64), source: '/etc/machine-id' }) });
    await expect(remote.site.sync()).rejects.toThrow(
      `This data file was bound with the random hardware id ${old} that earlier versions of sitesync-remote made: the id now comes from this machine, so the central must release the old one once.`,
    );
  });
});
