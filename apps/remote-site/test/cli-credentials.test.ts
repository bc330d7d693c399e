import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopology, orThrow, type SyncRecord } from '@sitesync/domain';
import { AdminClient, createCentralApp, ScryptPasswordHasher } from '@sitesync/http';
import { createInMemoryStorage } from '@sitesync/testkit';
import { composeRemoteSite } from '../src/container';
import { HARDWARE_ID_ENV, hardwareIdFromMachineId } from '../src/hardware-id';

/**
 * `sitesync-remote` as an operator runs it (apps/remote-site/dist/main.js, built by `npx tsc -b`),
 * against a central over real HTTP: the device binding of a data file, updating a file's site name
 * and password after they changed on the central, and `status` with what waits on the central.
 */
const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Central {
  readonly url: string;
  readonly admin: AdminClient;
  close(): Promise<void>;
}

/** The central's HTTP API over in-memory storage: North (2) with store A, South (3) with store B. */
async function startCentral(): Promise<Central> {
  const storage = createInMemoryStorage();
  await storage.storage.topology.save(orThrow(buildTopology({ sites: [{ id: 1, name: 'Sync server', roles: ['central', 'primary'] }], stores: [] })));
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const app = createCentralApp({
    storage,
    hasher: new ScryptPasswordHasher({ cost: 1024 }),
    clock: { now: () => new Date() },
    adminToken: 'credentials-token',
    logger: quiet,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = new AdminClient({ baseUrl: url, adminToken: 'credentials-token' });
  await admin.addSite({ name: 'North', password: 'north password' });
  await admin.addSite({ name: 'South', password: 'south password' });
  await admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
  await admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 3 });
  return {
    url,
    admin,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `sitesync-remote --data FILE ...args` as a process; `device` sets SITESYNC_HARDWARE_ID (absent: the machine id). */
function cli(file: string, args: string[], device?: string): Promise<Run> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with \`npx tsc -b\``);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  delete env['NODE_OPTIONS'];
  delete env['SITESYNC_SITE_PASSWORD'];
  delete env[HARDWARE_ID_ENV];
  if (device !== undefined) env[HARDWARE_ID_ENV] = device;
  const child = spawn(process.execPath, [MAIN, '--data', file, ...args], { env, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function ok(run: Promise<Run>): Promise<string> {
  const { code, stdout, stderr } = await run;
  if (code !== 0) throw new Error(`sitesync-remote exited ${String(code)}: ${stderr}`);
  return stdout;
}

/** The one-line message of a failed run (exit 1, the message on stderr). */
async function refused(run: Promise<Run>): Promise<string> {
  const { code, stdout, stderr } = await run;
  if (code !== 1) throw new Error(`expected exit 1, got ${String(code)}: ${stdout} ${stderr}`);
  return stderr.replace(/\s+/g, ' ').trim();
}

const stockLine = (id: string): SyncRecord => ({ type: 'stock_line', id, storeId: 'A', data: { packs: 1 } });

let dir: string;
let file: string;
let central: Central;
let passwords: { north: string; northNew: string; south: string };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sitesync-remote-credentials-'));
  file = join(dir, 'north.sqlite');
  central = await startCentral();
  passwords = { north: join(dir, 'north-password'), northNew: join(dir, 'north-new-password'), south: join(dir, 'south-password') };
  writeFileSync(passwords.north, 'north password\n', { mode: 0o600 });
  writeFileSync(passwords.northNew, 'a new north password\n', { mode: 0o600 });
  writeFileSync(passwords.south, 'south password\n', { mode: 0o600 });
});

afterEach(async () => {
  await central.close();
  rmSync(dir, { recursive: true, force: true });
});

const init = (device?: string) => cli(file, ['init', '--central-url', central.url, '--site-name', 'North', '--password-file', passwords.north], device);
const hardwareIdOnCentral = async (siteId: number) => (await central.admin.listSites()).find((s) => s.id === siteId)!.hardwareId;

describe('the device a data file syncs from', () => {
  it('is the machine’s, computed at every run: a data file copied to another machine is refused, naming the command that releases the site', async () => {
    await ok(init('machine-a'));
    await ok(cli(file, ['record', 'put', '--json', JSON.stringify(stockLine('sl-1'))], 'machine-a'));
    expect(await ok(cli(file, ['sync'], 'machine-a'))).toMatch(/^pushed 1,/);
    expect(await hardwareIdOnCentral(2)).toBe('machine-a');

    // the data file carried to another machine
    const copy = join(dir, 'copied.sqlite');
    copyFileSync(file, copy);
    const message = await refused(cli(copy, ['sync'], 'machine-b'));
    expect(message).toContain(
      `The central at ${central.url} refuses this device for site 2 "North": the site is bound to another device (this device's hardware id is machine-b, from ${HARDWARE_ID_ENV}).`,
    );
    expect(message).toContain('This data file was last used on another device (hardware id machine-a): it was copied or restored here');
    expect(message).toContain('have an administrator run `sitesync-central site reset-hardware-id --site 2` on the central');
    // the option names itself as the source
    expect(await refused(cli(copy, ['--hardware-id', 'machine-c', 'sync']))).toContain("this device's hardware id is machine-c, from --hardware-id");
    // the first machine goes on syncing; the central still holds its id
    expect(await ok(cli(file, ['sync'], 'machine-a'))).toMatch(/^pushed 0,/);
    expect(await hardwareIdOnCentral(2)).toBe('machine-a');

    // the administrator releases the site: the new machine binds it, the old one is refused from then on
    await central.admin.resetHardwareId(2);
    expect(await ok(cli(copy, ['sync'], 'machine-b'))).toMatch(/^pushed 0,/);
    expect(await hardwareIdOnCentral(2)).toBe('machine-b');
    expect(await refused(cli(file, ['sync'], 'machine-a'))).toContain("the site is bound to another device (this device's hardware id is machine-a");
  });

  it('is derived from /etc/machine-id without an override (never the id in the data file)', async () => {
    const machineIdFile = ['/etc/machine-id', '/var/lib/dbus/machine-id'].find((f) => existsSync(f) && /^[0-9a-f]{32}$/i.test(readFileSync(f, 'utf8').trim()));
    if (!machineIdFile) return; // a machine without one: covered by hardware-id.test.ts
    await ok(init());
    const expected = hardwareIdFromMachineId(readFileSync(machineIdFile, 'utf8').trim());
    expect(await hardwareIdOnCentral(2)).toBe(expected);
    // the same file with another device's id set: refused, naming this machine's id as the file's last
    await central.admin.resetHardwareId(2);
    await ok(cli(file, ['sync'], 'container-1'));
    const message = await refused(cli(file, ['sync']));
    expect(message).toContain(`this device's hardware id is ${expected}, from ${machineIdFile}`);
  });
});

describe('what a data file learns of the other sites', () => {
  it('holds no other site’s name, after a sync or an import from a site export (which the admin’s file holds whole)', async () => {
    await central.admin.patchSite(3, { code: 'SOUTH-CODE', serverUrl: 'https://south.internal.example' });
    const exported = join(dir, 'north.export.ndjson');
    await central.admin.exportSite(2, (line) => appendFileSync(exported, `${line}\n`));
    expect(readFileSync(exported, 'utf8')).toContain('"South"');
    const imported = join(dir, 'imported.sqlite');
    await ok(
      cli(imported, ['init', '--from-file', exported, '--central-url', central.url, '--site-name', 'North', '--password-file', passwords.north], 'machine-a'),
    );
    await ok(init('machine-a'));
    await ok(cli(file, ['sync'], 'machine-a'));
    for (const data of [imported, file]) {
      const remote = await composeRemoteSite(data);
      try {
        const topology = await remote.site.topology();
        const text = JSON.stringify(topology.toInput());
        for (const secret of ['South', 'Sync server', 'SOUTH-CODE', 'south.internal.example']) expect([data, text.includes(secret)]).toEqual([data, false]);
        expect(topology.site(3)).toMatchObject({ name: 'site 3', roles: [] });
        expect(topology.site(2)).toMatchObject({ name: 'North' });
        expect(topology.store('B')).toMatchObject({ activeSiteId: 3 });
      } finally {
        await remote.close();
      }
    }
  });
});

describe('`sitesync-remote update` after the site was renamed or its password changed on the central', () => {
  it('a sync says the name or password no longer match and which command updates them; update checks with the central, then saves; the data is kept', async () => {
    await ok(init('machine-a'));
    await ok(cli(file, ['record', 'put', '--json', JSON.stringify(stockLine('sl-kept'))], 'machine-a'));
    await ok(cli(file, ['sync'], 'machine-a'));

    await central.admin.patchSite(2, { name: 'North District' });
    const afterRename = await refused(cli(file, ['sync'], 'machine-a'));
    expect(afterRename).toContain(
      `The central at ${central.url} refused the site name "North" or the password this data file holds: they no longer match the central's (was the site renamed, or its password changed, on the central?).`,
    );
    expect(afterRename).toContain('`sitesync-remote update --site-name NEW-NAME` and/or `--password-file FILE`');

    // nothing to update, a wrong name: refused, nothing saved
    expect(await refused(cli(file, ['update'], 'machine-a'))).toContain('update needs what changed on the central: --site-name NAME, --central-url URL');
    expect(await refused(cli(file, ['update', '--site-name', 'North Distrikt'], 'machine-a'))).toContain(
      'refused the site name "North Distrikt" or the password given: nothing was saved.',
    );
    expect(await refused(cli(file, ['sync'], 'machine-a'))).toContain('refused the site name "North"');

    expect(await ok(cli(file, ['update', '--site-name', 'North District'], 'machine-a'))).toBe(
      `updated siteName: site 2 "North District" of ${central.url}; the central accepted them\n`,
    );
    expect(await ok(cli(file, ['sync'], 'machine-a'))).toMatch(/^pushed 0,/);

    await central.admin.setPassword(2, 'a new north password');
    expect(await refused(cli(file, ['sync'], 'machine-a'))).toContain('refused the site name "North District" or the password this data file holds');
    expect(await refused(cli(file, ['update', '--password-file', passwords.north], 'machine-a'))).toContain('Nothing to update');
    expect(await ok(cli(file, ['update', '--password-file', passwords.northNew], 'machine-a'))).toMatch(/^updated password: site 2 "North District"/);
    await ok(cli(file, ['record', 'put', '--json', JSON.stringify(stockLine('sl-after'))], 'machine-a'));
    expect(await ok(cli(file, ['sync'], 'machine-a'))).toMatch(/^pushed 1,/);
    const held = JSON.parse(await ok(cli(file, ['record', 'list', '--type', 'stock_line']))) as SyncRecord[];
    expect(held.map((r) => r.id)).toEqual(['sl-after', 'sl-kept']);
  });

  it("refuses another site's credentials for this data file, and init of an existing file points to update", async () => {
    await ok(init('machine-a'));
    expect(await refused(cli(file, ['update', '--site-name', 'South', '--password-file', passwords.south], 'machine-a'))).toContain(
      `The central at ${central.url} knows "South" as site 3, but ${file} is the data file of site 2 ("North"): nothing was saved.`,
    );
    expect(await refused(cli(file, ['init', '--central-url', central.url, '--site-name', 'South', '--password-file', passwords.south], 'machine-a'))).toContain(
      'If this site was renamed on the central, or the central moved, give the file its new name or address with `sitesync-remote update --site-name NAME --central-url URL`',
    );
    expect(await ok(cli(file, ['sync'], 'machine-a'))).toMatch(/^pushed 0,/);
  });
});

describe('`sitesync-remote status`', () => {
  interface Status {
    summary: string[];
    waitingToPush: number;
    incoming: { waiting: number | null; error?: string };
  }
  const status = async (device = 'machine-a') => JSON.parse(await ok(cli(file, ['status'], device))) as Status;

  it('shows what waits on the central beside what waits to push, and says so when the central cannot be reached without failing', async () => {
    await ok(init('machine-a'));
    await central.admin.putRecords(Array.from({ length: 5 }, (_, i) => ({ type: 'item', id: `item-${i}`, data: { name: `Item ${i}` } })));
    await ok(cli(file, ['record', 'put', '--json', JSON.stringify(stockLine('sl-1'))], 'machine-a'));
    expect(await status()).toMatchObject({
      summary: ['outgoing: 1 waiting to push', 'incoming: 5 waiting on the central'],
      waitingToPush: 1,
      incoming: { waiting: 5 },
    });
    await ok(cli(file, ['sync'], 'machine-a'));
    expect((await status()).summary).toEqual(['outgoing: 0 waiting to push', 'incoming: 0 waiting on the central']);

    // another device: the refusal with its fix, the outgoing part unchanged
    const other = await status('machine-b');
    expect(other.incoming.waiting).toBeNull();
    expect(other.summary[1]).toContain('incoming: unknown: The central at');
    expect(other.summary[1]).toContain('sitesync-central site reset-hardware-id --site 2');

    await ok(cli(file, ['record', 'put', '--json', JSON.stringify(stockLine('sl-2'))], 'machine-a'));
    await central.close();
    const offline = await status();
    expect(offline).toMatchObject({ waitingToPush: 1, incoming: { waiting: null } });
    expect(offline.summary[0]).toBe('outgoing: 1 waiting to push');
    expect(offline.summary[1]).toMatch(
      new RegExp(
        `^incoming: unknown: The central at ${central.url.replace(/[.]/g, '\\.')} could not be asked what waits for this site: fetch failed \\(ECONNREFUSED`,
      ),
    );
    central = { ...central, close: async () => undefined };
  });
});
