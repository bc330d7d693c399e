import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CENTRAL_PULL_CURSOR,
  CENTRAL_QUEUE_CURSOR,
  patientsOf,
  recordKey,
  respondingId,
  siteHolds,
  visibilityContext,
  type Clock,
  type SyncRecord,
  type SyncStorage,
} from '@sitesync/domain';
import { sha256Hex, SyncHttpError } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS, type RemoteComposition } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { customerInvoice, patientRecord, recordsOf, storeRecord, centralRecord } from '@sitesync/testkit';
import { Cluster, ENGINES } from './cluster';
import { CENTRAL_MAIN, cli, ok, REMOTE_MAIN } from './cli-process';

const stock = (id: string, storeId: string, packs = 1): SyncRecord => storeRecord('stock_line', storeId, { itemId: 'bcg', packs }, id);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = (a: SyncRecord, b: SyncRecord) => byText(recordKey(a), recordKey(b));

/** Every record a storage holds, with its data, in key order. */
async function everything(s: SyncStorage): Promise<SyncRecord[]> {
  const keys: SyncRecord[] = [];
  for (let after: SyncRecord | undefined; ;) {
    const page = await s.records.select({}, after ? { after, limit: 1000 } : { limit: 1000 });
    keys.push(...page);
    if (page.length < 1000) break;
    after = page[page.length - 1];
  }
  return [...(await s.records.getMany(keys))].sort(byKey);
}

/**
 * Site export and import end to end: a new data file started from the central's export of a site
 * holds, once it has synced, exactly what a full pull gives (data included), its own records with
 * it; files of another site, damaged or cut short, are refused with the file, the line and the fix.
 */
describe.each(ENGINES)('site export and import with the central on $name', (engine) => {
  let c: Cluster;
  let dir: string;
  let n = 0;
  const opened: RemoteComposition[] = [];

  beforeAll(async () => {
    c = await Cluster.start(engine);
    dir = mkdtempSync(join(tmpdir(), 'sitesync-export-'));
  }, 60_000);

  afterAll(async () => {
    for (const remote of opened) await remote.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const site = async (label: string) => {
    const name = `${label} ${++n}`;
    return { id: await c.addRemote(name), name, password: `${name}-password` };
  };
  const put = async (siteId: number, ...records: SyncRecord[]) => {
    const result = await c.site(siteId).putRecords(records);
    if (!result.ok) throw new Error(result.error.map((v) => v.message).join(' '));
  };
  /** A data file of its own (not one of the cluster's), closed at the end. */
  const newFile = async (label: string, clock?: Clock) => {
    const file = join(dir, `${label}-${++n}.sqlite`);
    const remote = await composeRemoteSite(file, clock ? { clock } : {});
    opened.push(remote);
    return { file, remote, storage: remote.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage).storage };
  };
  /** The central's export of a site, written to a file as `site export` writes it. */
  const exportTo = async (siteId: number, label: string) => {
    const lines: string[] = [];
    const { header, records } = await c.admin.exportSite(siteId, (line) => void lines.push(line));
    const file = join(dir, `${label}-${++n}.ndjson`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { file, header, records, lines };
  };
  /** What the rules route to a site from what the central holds now, with data. */
  const routedTo = async (siteId: number) => {
    const central = c.central.storage.storage;
    const topology = (await central.topology.load())!;
    const all = await everything(central);
    const context = await visibilityContext(central, patientsOf(all));
    return all.filter((r) => siteHolds(topology, siteId, r, context));
  };

  it('a file started from the export holds, after one sync, exactly what the old file and a full pull hold; the sync brings only what came later', async () => {
    const [x, y] = [await site('Exported'), await site('Neighbour')];
    await c.admin.addStore({ code: 'X1A', name: 'Warehouse X1A', activeSiteId: x.id });
    await c.admin.addStore({ code: 'X1B', name: 'Clinic X1B', activeSiteId: x.id });
    await c.admin.addStore({ code: 'X1Y', name: 'Store X1Y', activeSiteId: y.id, copies: [{ siteId: x.id, type: 'collector' }] });
    await c.admin.addStore({ code: 'X1Z', name: 'Store X1Z', activeSiteId: y.id });
    // patients are entered in dispensary stores (on their home store's site)
    await c.admin.addStore({ code: 'X1D', name: 'Dispensary X1D', activeSiteId: x.id, isDispensary: true });
    await c.admin.addStore({ code: 'X1P', name: 'Dispensary X1P', activeSiteId: y.id, isDispensary: true });
    await c.open(x.id);
    await c.open(y.id);
    await c.admin.putRecords([centralRecord('item', { name: 'BCG' }, 'x1-item-1')]);
    await put(x.id, stock('x1-sl-1', 'X1A'), ...recordsOf(customerInvoice({ id: 'x1-ci-1', from: 'X1A', to: 'X1B' })));
    await put(x.id, storeRecord('transaction', 'X1B', { kind: 'supplier_invoice', status: 'finalised', serialNumber: 7 }, 'x1-si-7'));
    await put(x.id, patientRecord('patient', 'x1-p1', 'X1D', { name: 'Amina' }, 'x1-pat-1'));
    await put(y.id, stock('x1-y-sl-1', 'X1Y'), stock('x1-z-sl-1', 'X1Z'), patientRecord('patient', 'x1-p2', 'X1P', { name: 'Bo' }, 'x1-pat-2'));
    await c.site(y.id).sync();
    await c.site(x.id).sync();
    // scope changes X has not pulled yet: the export holds their records, so its queue is not served again
    await c.admin.setCopyType('X1Z', x.id, 'collector');
    await c.admin.putRecords([{ type: 'patient_visibility', id: 'x1-vis-2', storeId: 'X1A', patientId: 'x1-p2', data: {} }]);

    const exported = await exportTo(x.id, 'x1');
    expect(exported.header).toMatchObject({ siteId: x.id, siteName: x.name, warnings: [] });
    expect(BigInt(exported.header.queueCursor)).toBeGreaterThan(0n);
    const inExport = exported.lines.slice(1, -1).map((line) => JSON.parse(line) as SyncRecord);
    expect(inExport).toHaveLength(exported.records);
    const keys = inExport.map(recordKey);
    // its own records (the central is its backup), what it collects, the scope changes, central data
    expect(keys).toEqual(
      expect.arrayContaining([
        'stock_line:x1-sl-1',
        'transaction:x1-ci-1',
        `transaction:${respondingId('x1-ci-1', 'stock-transfer')}`,
        'transaction:x1-si-7',
        'patient:x1-pat-1',
        'stock_line:x1-y-sl-1',
        'stock_line:x1-z-sl-1',
        'patient:x1-pat-2',
        'item:x1-item-1',
      ]),
    );
    expect(inExport.sort(byKey)).toEqual(await routedTo(x.id));

    // after the export: the old device writes and pushes, the central and the neighbour write, the scope widens
    await put(x.id, stock('x1-sl-late', 'X1A', 3));
    await c.admin.putRecords([centralRecord('item', { name: 'Zinc' }, 'x1-item-late')]);
    await put(y.id, stock('x1-y-sl-late', 'X1Y', 4));
    await c.site(y.id).sync();
    await c.admin.addStore({ code: 'X1W', name: 'Store X1W', activeSiteId: y.id });
    await c.site(y.id).sync(); // learns of its new store
    await put(y.id, stock('x1-w-sl-1', 'X1W'));
    await c.site(y.id).sync();
    await c.admin.setCopyType('X1W', x.id, 'collector');
    await c.site(x.id).sync();
    const oldFile = await everything(c.storageOf(x.id).storage);

    // the old device is replaced: a new file from the export, then one sync
    await c.admin.resetHardwareId(x.id);
    const b = await newFile('x1-imported');
    const imported = await b.remote.site.initFromExport({
      file: exported.file,
      centralUrl: c.central.url,
      siteName: x.name,
      passwordSha256: sha256Hex(x.password),
      hardwareId: 'x1-new-device',
    });
    expect(imported).toMatchObject({ imported: exported.records, keptWithErrors: 0, config: { siteId: x.id } });
    expect((await everything(b.storage)).map(recordKey)).toEqual([...keys].sort(byText));
    const outcome = await b.remote.site.sync();
    // only what came after the export: its own late record, the central's, the neighbour's, the widened store
    expect(outcome).toMatchObject({ pushed: 0, refused: 0, pullFailures: 0 });
    expect(outcome.pulled).toBe(4);
    const afterImport = await everything(b.storage);
    expect(afterImport.map(recordKey)).toEqual(
      expect.arrayContaining(['stock_line:x1-sl-late', 'item:x1-item-late', 'stock_line:x1-y-sl-late', 'stock_line:x1-w-sl-1']),
    );
    expect(afterImport).toEqual(oldFile);
    expect(afterImport).toEqual(await routedTo(x.id));
    // serial numbers go on after the highest in use in its stores
    expect(await b.storage.records.nextSerialNumber('X1B', 'transaction:supplier_invoice')).toBe(8);
    expect(await b.remote.site.status()).toMatchObject({ waitingToPush: 0, failed: [] });

    // and a full pull into another new file gives the same
    await c.admin.resetHardwareId(x.id);
    const full = await newFile('x1-full');
    await full.remote.site.init({ centralUrl: c.central.url, siteName: x.name, passwordSha256: sha256Hex(x.password), hardwareId: 'x1-third-device' });
    await full.remote.site.sync();
    expect(await everything(full.storage)).toEqual(oldFile);
  });

  it('refuses the file of another site, a damaged or cut-short file, and a data file that holds records, naming the file, the line and the fix', async () => {
    const [x, other] = [await site('Owner'), await site('Other')];
    await c.admin.addStore({ code: 'X2A', name: 'Store X2A', activeSiteId: x.id });
    await c.open(x.id);
    await put(x.id, stock('x2-sl-1', 'X2A'), stock('x2-sl-2', 'X2A'));
    await c.site(x.id).sync();
    const exported = await exportTo(x.id, 'x2');
    expect(exported.records).toBeGreaterThanOrEqual(2);
    const credentials = (s: { name: string; password: string }, file: string) => ({
      file,
      centralUrl: c.central.url,
      siteName: s.name,
      passwordSha256: sha256Hex(s.password),
      hardwareId: `device-${s.name}`,
    });
    const variant = (label: string, lines: string[]) => {
      const file = join(dir, `x2-${label}.ndjson`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    };

    const fresh = await newFile('x2-refused');
    await expect(fresh.remote.site.initFromExport(credentials(other, exported.file))).rejects.toThrow(
      `${exported.file}, line 1: is the export of site ${x.id} "${x.name}", not of "${other.name}". Import the export of "${other.name}"`,
    );
    const lineOf = exported.lines.findIndex((line) => line.includes('"x2-sl-1"'));
    expect(lineOf).toBeGreaterThan(0);
    const damaged = [...exported.lines];
    damaged[lineOf] = damaged[lineOf]!.slice(0, -5);
    const damagedFile = variant('damaged', damaged);
    await expect(fresh.remote.site.initFromExport(credentials(x, damagedFile))).rejects.toThrow(
      `${damagedFile}, line ${lineOf + 1}: the line is not JSON: the file is damaged or is not a site export. Export the site again on the central`,
    );
    const changed = [...exported.lines];
    changed[lineOf] = changed[lineOf]!.replace('"packs":', '"packz":');
    const changedFile = variant('changed', changed);
    await expect(fresh.remote.site.initFromExport(credentials(x, changedFile))).rejects.toThrow(
      `${changedFile}, line ${exported.lines.length}: says the export holds ${exported.records} records, but the ${exported.records} lines before it do not match its checksum`,
    );
    const cutFile = variant('cut', exported.lines.slice(0, -2));
    await expect(fresh.remote.site.initFromExport(credentials(x, cutFile))).rejects.toThrow(
      `${cutFile}: ends after ${exported.records - 1} records without its last line: the export was cut short`,
    );
    const notAnExport = variant('not-an-export', ['{"hello":"world"}']);
    await expect(fresh.remote.site.initFromExport(credentials(x, notAnExport))).rejects.toThrow(`${notAnExport}, line 1: is not a sitesync site export`);
    // nothing of any of them was written, and the file is not bound to any site
    expect(await everything(fresh.storage)).toEqual([]);
    expect(await fresh.remote.site.config()).toBeNull();

    // a data file that holds records is never imported into
    await expect(c.site(x.id).initFromExport(credentials(x, exported.file))).rejects.toThrow(/already holds records: init --from-file starts a new data file/);

    // the central refuses to export itself or an unknown site
    await expect(c.admin.exportSite(1, () => undefined)).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    await expect(c.admin.exportSite(9999, () => undefined)).rejects.toThrow(SyncHttpError);
  });

  it('an import cut short leaves a file that pulls everything at its next sync: nothing half-imported looks complete', async () => {
    const x = await site('Interrupted');
    await c.admin.addStore({ code: 'X5A', name: 'Store X5A', activeSiteId: x.id });
    await c.open(x.id);
    await put(x.id, ...Array.from({ length: 7 }, (_, i) => stock(`x5-sl-${i}`, 'X5A', i + 1)));
    await c.site(x.id).sync();
    const exported = await exportTo(x.id, 'x5');
    await c.admin.resetHardwareId(x.id);
    await c.kill(x.id);

    // the power goes while the third batch is imported
    let calls = 0;
    const b = await newFile('x5-imported', {
      now: () => {
        if (++calls === 3) throw new Error('power cut');
        return new Date();
      },
    });
    const credentials = { centralUrl: c.central.url, siteName: x.name, passwordSha256: sha256Hex(x.password), hardwareId: 'x5-new-device' };
    await expect(b.remote.site.initFromExport({ ...credentials, file: exported.file, batchSize: 2 })).rejects.toThrow('power cut');
    expect(await everything(b.storage)).toHaveLength(4);
    expect(await b.storage.changes.cursorOf(CENTRAL_PULL_CURSOR)).toBe(0n);
    expect(await b.storage.changes.cursorOf(CENTRAL_QUEUE_CURSOR)).toBe(0n);

    // its next sync is a full pull, its own records included
    await b.remote.site.sync();
    expect(await everything(b.storage)).toEqual(await routedTo(x.id));
    expect((await everything(b.storage)).filter((r) => r.id.startsWith('x5-'))).toHaveLength(7);
  });

  it('resync-patients queues the patients of a store to the sites that hold them; a site that lost one gets it back', async () => {
    const [home, visiting] = [await site('Home'), await site('Visiting')];
    await c.admin.addStore({ code: 'X3H', name: 'Home X3H', activeSiteId: home.id, isDispensary: true });
    await c.admin.addStore({ code: 'X3V', name: 'Visited X3V', activeSiteId: visiting.id });
    await c.open(home.id);
    await c.open(visiting.id);
    const patient = patientRecord('patient', 'x3-p1', 'X3H', { name: 'Chen' }, 'x3-pat-1');
    await put(home.id, patient, patientRecord('patient_medication', 'x3-p1', 'X3H', { itemId: 'ors' }, 'x3-med-1'));
    await c.site(home.id).sync();
    await c.admin.putRecords([{ type: 'patient_visibility', id: 'x3-vis-1', storeId: 'X3V', patientId: 'x3-p1', data: {} }]);
    await c.site(visiting.id).sync();
    expect(await c.has(visiting.id, 'patient', 'x3-pat-1')).toBe(true);

    // the visiting site lost the patient (a restored backup, a bug): nothing would send it again
    await c.storageOf(visiting.id).run((s) => s.records.remove([{ type: 'patient', id: 'x3-pat-1' }]));
    await c.site(visiting.id).sync();
    expect(await c.has(visiting.id, 'patient', 'x3-pat-1')).toBe(false);

    const answer = await c.admin.resyncPatients('X3V');
    expect(answer).toEqual({ storeId: 'X3V', examined: 3, queued: { [String(home.id)]: 2, [String(visiting.id)]: 3 } });
    await c.site(visiting.id).sync();
    expect(await c.storageOf(visiting.id).storage.records.get('patient', 'x3-pat-1')).toEqual(patient);
    expect(await c.site(home.id).sync()).toMatchObject({ refused: 0 });

    await expect(c.admin.resyncPatients('no-such-store')).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  it('the CLIs: `site export` writes a file only its owner reads, `init --from-file` starts a data file from it, `sync` goes on from there', async () => {
    const x = await site('Carried');
    await c.admin.addStore({ code: 'X4A', name: 'Store X4A', activeSiteId: x.id });
    await c.open(x.id);
    await put(x.id, stock('x4-sl-1', 'X4A'), stock('x4-sl-2', 'X4A'));
    await c.site(x.id).sync();
    await c.admin.resetHardwareId(x.id);
    await c.kill(x.id);

    const out = join(dir, 'x4-export.ndjson.gz');
    const admin = ['--url', c.central.url, '--admin-token', 'e2e-admin-token'];
    const printed = JSON.parse(await ok(cli(CENTRAL_MAIN, ['site', 'export', '--site', String(x.id), '--out', out, '--json', ...admin]))) as Record<
      string,
      unknown
    >;
    expect(printed).toMatchObject({ siteId: x.id, siteName: x.name, file: out });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(existsSync(`${out}.partial`)).toBe(false);

    await c.admin.putRecords([centralRecord('item', { name: 'After the export' }, 'x4-item-late')]);
    const data = join(dir, 'x4-site.sqlite');
    const passwordFile = join(dir, 'x4-password');
    writeFileSync(passwordFile, `${x.password}\n`, { mode: 0o600 });
    const remote = ['--data', data];
    const init = await ok(
      cli(REMOTE_MAIN, [...remote, 'init', '--from-file', out, '--central-url', c.central.url, '--site-name', x.name, '--password-file', passwordFile]),
    );
    expect(init).toContain(`initialised as site ${x.id} "${x.name}" of ${c.central.url} from ${out}`);
    expect(init).toContain(`imported ${String(printed['records'])} records`);
    // a second import into the same file is refused
    const again = await cli(REMOTE_MAIN, [
      ...remote,
      'init',
      '--from-file',
      out,
      '--central-url',
      c.central.url,
      '--site-name',
      x.name,
      '--password-file',
      passwordFile,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already holds records');
    expect(await ok(cli(REMOTE_MAIN, [...remote, 'sync']))).toMatch(/^pushed 0, pulled 1, /);
    const listed = JSON.parse(await ok(cli(REMOTE_MAIN, [...remote, 'record', 'list', '--type', 'stock_line']))) as SyncRecord[];
    expect(listed.map((r) => r.id)).toEqual(['x4-sl-1', 'x4-sl-2']);

    const resync = JSON.parse(await ok(cli(CENTRAL_MAIN, ['store', 'resync-patients', '--store', 'X4A', '--json', ...admin]))) as unknown;
    expect(resync).toEqual({ storeId: 'X4A', examined: 0, queued: {} });
  });
});
