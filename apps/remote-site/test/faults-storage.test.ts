import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopology, orThrow, type SyncRecord } from '@sitesync/domain';
import { AdminClient, createCentralApp, ScryptPasswordHasher, sha256Hex } from '@sitesync/http';
import { createInMemoryStorage } from '@sitesync/testkit';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { composeRemoteSite, REMOTE_TOKENS, type RemoteComposition } from '../src/container';
import { describeStorageError } from '../src/storage-errors';
import type { SqliteSyncStorage } from '@sitesync/sqlite';

/**
 * A remote site whose data file cannot grow (a full disk) or is locked by another process: the
 * sync fails with an error that names the file, the cause and what to do; the file stays intact;
 * the next cycle after the fault is gone succeeds with nothing lost. Both through the RemoteSite
 * API and through the `sitesync-remote` CLI run as a real process (apps/remote-site/dist/main.js,
 * built by `npx tsc -b`), against a central over real HTTP.
 */
const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const SITE = { name: 'Site 2', password: 'site-2-password' } as const;

interface Central {
  readonly url: string;
  readonly admin: AdminClient;
  has(type: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The central's HTTP API over in-memory storage: site 2 with store A active on it. */
async function startCentral(): Promise<Central> {
  const storage = createInMemoryStorage();
  await storage.storage.topology.save(orThrow(buildTopology({ sites: [{ id: 1, name: 'Sync server', roles: ['central', 'primary'] }], stores: [] })));
  const app = createCentralApp({ storage, hasher: new ScryptPasswordHasher({ cost: 1024 }), clock: { now: () => new Date() }, adminToken: 'faults-token' });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = new AdminClient({ baseUrl: url, adminToken: 'faults-token' });
  await admin.addSite(SITE);
  await admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
  return {
    url,
    admin,
    has: async (type, id) => (await storage.storage.records.get(type, id)) !== null,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const stockLines = (prefix: string, n: number): SyncRecord[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'stock_line', id: `${prefix}${String(i).padStart(4, '0')}`, storeId: 'A', data: { packs: i } }));
/** Central data every site receives; large enough that pulling it needs the file to grow by about 1 MB. */
const items = (n: number): SyncRecord[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'item', id: `item-${String(i).padStart(5, '0')}`, data: { name: `Item ${i}`, note: 'x'.repeat(500) } }));

/** PRAGMA integrity_check on the file, from a connection of its own. */
function integrity(file: string): string {
  return readOnly(file, (db) => db.pragma('integrity_check', { simple: true }) as string);
}

/** The ids of the records of a type the file holds, read by a connection of its own (as fast as a CLI run is slow). */
function idsOf(file: string, type: string): string[] {
  return readOnly(file, (db) => db.prepare('select id from sync_record where type = ? order by id').pluck().all(type) as string[]);
}

function readOnly<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sitesync-remote --data FILE ...args` as a process; with `fileSizeKb`, under `ulimit -f` (the files it writes cannot grow past it). */
function cli(file: string, args: string[], fileSizeKb?: number): Promise<Run> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with \`npx tsc -b\``);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env['NODE_OPTIONS'];
  const command = [MAIN, '--data', file, ...args];
  const child =
    fileSizeKb === undefined
      ? spawn(process.execPath, command, { env, cwd: ROOT })
      : spawn('bash', ['-c', `ulimit -f ${fileSizeKb} && exec "$0" "$@"`, process.execPath, ...command], { env, cwd: ROOT });
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

/** Another process holding the file's write lock (BEGIN EXCLUSIVE) until `release()`. */
async function lockFile(file: string): Promise<{ release(): Promise<void> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  lockers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the locking process exited (${String(code)})`)));
  });
  return {
    release: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}

let dir: string;
let file: string;
let central: Central;
let remote: RemoteComposition | null = null;
const lockers: ChildProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sitesync-remote-faults-'));
  file = join(dir, 'site.sqlite');
  central = await startCentral();
});

afterEach(async () => {
  for (const child of lockers.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await remote?.close();
  remote = null;
  await central.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openRemote(): Promise<RemoteComposition> {
  remote = await composeRemoteSite(file);
  await remote.site.init({ centralUrl: central.url, siteName: SITE.name, passwordSha256: sha256Hex(SITE.password), hardwareId: 'device-2' });
  return remote;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the sync to fail');
    },
    (error: unknown) => error as Error,
  );
}

describe('a remote whose disk is full', () => {
  it('RemoteSite.sync fails, the file is intact with what was entered before, and the next cycle after space is freed loses nothing', async () => {
    const { site, container } = await openRemote();
    expect((await site.putRecords(stockLines('sl-synced-', 50))).ok).toBe(true);
    expect(await site.sync()).toMatchObject({ pushed: 50 });
    expect((await site.putRecords(stockLines('sl-waiting-', 20))).ok).toBe(true);
    await central.admin.putRecords(items(2000));

    // The disk is full: the file may not take one more page (on this process's own connection).
    const db = container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage).db;
    const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count;
    await sql.raw(`pragma max_page_count = ${pages}`).execute(db);

    const error = await failure(site.sync());
    const problem = describeStorageError(error, file);
    expect(problem).not.toBeNull();
    // Today the SQLITE_FULL is hidden by the failed ROLLBACK after it (see the test marked failing below).
    expect(problem!.cause).toMatch(/^(disk-full|write-failed)$/);
    expect(problem!.message).toContain(file);
    // the disk is not really full here (max_page_count stands in for it), so either reading is right
    expect(problem!.message).toMatch(/disk (holding .* )?is (probably )?full|file probably cannot grow/);
    expect(problem!.message).toMatch(/Free space.*run `sitesync-remote sync` again.*Nothing is lost/);

    expect(integrity(file)).toBe('ok');
    expect((await site.listRecords('stock_line')).map((r) => r.id)).toEqual(
      [...stockLines('sl-synced-', 50), ...stockLines('sl-waiting-', 20)].map((r) => r.id),
    );
    const before = (await site.listRecords('item')).length;
    expect(before).toBeLessThan(2000);

    await sql.raw('pragma max_page_count = 1073741823').execute(db); // space freed
    const outcome = await site.sync();
    expect(outcome.pulled).toBe(2000 - before);
    expect((await site.listRecords('item')).map((r) => r.id)).toEqual(items(2000).map((r) => r.id));
    for (const id of ['sl-synced-0000', 'sl-waiting-0000', 'sl-waiting-0019']) expect(await central.has('stock_line', id)).toBe(true);
    expect((await site.status()).waitingToPush).toBe(0);
    expect(integrity(file)).toBe('ok');
  });

  // When SQLite rolls a transaction back by itself (SQLITE_FULL, SQLITE_IOERR), Kysely's ROLLBACK
  // used to fail with "cannot rollback - no transaction is active" and hide the real error.
  it('RemoteSite.sync reports SQLITE_FULL itself, not the failed ROLLBACK after it, naming the file and the fix', async () => {
    const { site, container } = await openRemote();
    await central.admin.putRecords(items(500));
    const db = container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage).db;
    const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count;
    await sql.raw(`pragma max_page_count = ${pages}`).execute(db);
    expect(await failure(site.sync())).toMatchObject({ code: 'SQLITE_FULL', message: expect.stringMatching(/data file .* is full.*Nothing is lost/) });
  });

  it('`sitesync-remote sync` whose file cannot grow (a file size limit) exits 1 with the cause and the fix; the file is intact and the next sync completes', async () => {
    await ok(cli(file, ['init', '--central-url', central.url, '--site-name', SITE.name, '--password', SITE.password]));
    const entered = stockLines('sl-cli-', 50);
    expect(await ok(cli(file, ['record', 'put', '--type', 'stock_line', '--json', JSON.stringify(entered)]))).toBe('written 50\n');
    expect(await ok(cli(file, ['sync']))).toMatch(/^pushed 50, pulled 0/);
    await central.admin.putRecords(items(2000));

    // the files this process writes may grow by 64 KB at most: the 2,000 items need about 1 MB
    const limitKb = Math.ceil(statSync(file).size / 1024) + 64;
    const run = await cli(file, ['sync'], limitKb);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toMatch(/the disk is probably full|the file probably cannot grow/);
    expect(run.stderr).toMatch(/a file size limit such as `ulimit -f`/);
    expect(run.stderr).toMatch(/run `sitesync-remote sync` again.*Nothing is lost/);
    expect(run.stderr).not.toMatch(/cannot rollback|^\s+at /m); // SQLite's words and stacks are for LOG_LEVEL=debug

    expect(integrity(file)).toBe('ok');
    const held = JSON.parse(await ok(cli(file, ['record', 'list', '--type', 'stock_line']))) as SyncRecord[];
    expect(held.map((r) => r.id)).toEqual(entered.map((r) => r.id));
    const partial = idsOf(file, 'item').length;
    expect(partial).toBeLessThan(2000);

    expect(await ok(cli(file, ['sync']))).toMatch(new RegExp(`^pushed 0, pulled ${2000 - partial},`));
    expect(idsOf(file, 'item')).toEqual(items(2000).map((r) => r.id));
    expect(integrity(file)).toBe('ok');
  });
});

describe('a remote whose data file is locked by another process', () => {
  it('RemoteSite.sync fails with SQLITE_BUSY, reads still work, and the next cycle after the lock is released pushes everything', async () => {
    const { site } = await openRemote();
    const entered = stockLines('sl-locked-', 10);
    expect((await site.putRecords(entered)).ok).toBe(true);
    const lock = await lockFile(file);

    const error = await failure(site.sync());
    expect(error).toMatchObject({ code: 'SQLITE_BUSY', message: expect.stringContaining(`${file} is locked by another process`) });
    const problem = describeStorageError(error, file)!;
    expect(problem.cause).toBe('locked');
    expect(problem.message).toContain(`${file} is locked by another process`);
    expect(problem.message).toMatch(/Close the other program.*run `sitesync-remote sync` again/);
    expect((await site.status()).waitingToPush).toBe(10); // reading is not blocked
    expect(integrity(file)).toBe('ok');
    expect(await central.has('stock_line', 'sl-locked-0000')).toBe(false);

    await lock.release();
    expect(await site.sync()).toMatchObject({ pushed: 10, refused: 0 });
    for (const r of entered) expect(await central.has('stock_line', r.id)).toBe(true);
    expect((await site.status()).waitingToPush).toBe(0);
  });

  it('`sitesync-remote sync` exits 1 naming the lock and what to do; `status` still answers; after the lock is released the sync completes', async () => {
    await ok(cli(file, ['init', '--central-url', central.url, '--site-name', SITE.name, '--password', SITE.password]));
    const entered = stockLines('sl-cli-locked-', 10);
    await ok(cli(file, ['record', 'put', '--type', 'stock_line', '--json', JSON.stringify(entered)]));
    const lock = await lockFile(file);

    const run = await cli(file, ['sync']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The site's data file ${file} is locked by another process (SQLITE_BUSY: database is locked`);
    expect(run.stderr).toMatch(/another `sitesync-remote sync` or `run` on the same file, a database browser, a backup/);
    expect(JSON.parse(await ok(cli(file, ['status'])))).toMatchObject({ waitingToPush: 10 });
    expect(integrity(file)).toBe('ok');

    await lock.release();
    expect(await ok(cli(file, ['sync']))).toMatch(/^pushed 10, pulled 0, refused 0/);
    for (const r of entered) expect(await central.has('stock_line', r.id)).toBe(true);
  });
});
