import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { respondingId, type PushOutcome, type SyncRecord } from '@sitesync/domain';
import { AdminClient, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, CONFIG_SETTING, REMOTE_TOKENS, type RemoteComposition } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { customerInvoice, recordsOf } from '@sitesync/testkit';
import { Client, Pool } from 'pg';
import { PG_URL, recordingGateway, type PushLog } from './cluster';

/**
 * The central as a real process (apps/central-server/dist/main.js, built by `npx tsc -b`) on a
 * fresh schema of the Postgres server, killed with SIGKILL while it accepts a push of 5,000
 * records, then started again on the same database. Where the kill lands is made certain with
 * locks the test holds: inside the push's transaction, or just after its commit. (The same on
 * embedded PGlite: faults-sigkill-pglite.e2e.test.ts.)
 */
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const ADMIN_TOKEN = 'sigkill-admin-token';
const BATCH = 5_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `sitesync-central serve` as a child process. */
class CentralProcess {
  private log = '';
  private readonly logWaiters: { readonly pattern: RegExp; readonly resolve: () => void }[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<NodeJS.Signals | number | null>,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => {
      this.log += chunk.toString('utf8');
      for (const waiter of this.logWaiters.splice(0)) {
        if (waiter.pattern.test(this.log)) waiter.resolve();
        else this.logWaiters.push(waiter);
      }
    });
  }

  url = '';

  static async start(port: number, storage: string[], dataDir: string): Promise<CentralProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with \`npx tsc -b\``);
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
    delete env['NODE_OPTIONS'];
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', String(port), ...storage, '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--site-name', 'Sync server'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    const central = new CentralProcess(child, exited);
    central.url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      void exited.then((how) => reject(new Error(`the central exited (${String(how)}) before listening: ${central.log}`)));
    });
    return central;
  }

  /** Resolves when the central's log (pino, on standard error) has a line matching `pattern`. */
  logged(pattern: RegExp): Promise<void> {
    if (pattern.test(this.log)) return Promise.resolve();
    return new Promise((resolve) => this.logWaiters.push({ pattern, resolve }));
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    expect(await this.exited).toBe('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** What a push brought back: the central's answer, or the error the remote got instead. */
type Pushed = PushLog[number];
const answers = (pushes: readonly Pushed[]): PushOutcome[] => pushes.flatMap((p) => ('answer' in p ? [p.answer] : []));

/** A remote site in this process, over HTTP to the central process; its pushes are observed. */
async function remoteSite(
  file: string,
  centralUrl: string,
  site: { readonly name: string; readonly password: string },
  pushes: Pushed[] = [],
  beforePush: () => void = () => undefined,
): Promise<RemoteComposition> {
  const observed = recordingGateway(pushes, beforePush);
  const remote = await composeRemoteSite(file, { gatewayFor: observed });
  const config = await remote.site.init({ centralUrl, siteName: site.name, passwordSha256: sha256Hex(site.password), hardwareId: `device of ${site.name}` });
  // A remote whose recent requests were fast sends up to 5,000 records per request (nextRequestSize): start there.
  await remote.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage).storage.settings.set(CONFIG_SETTING, { ...config, requestSize: BATCH });
  return remote;
}

const SITE_2 = { name: 'Site 2', password: 'site-2-password' } as const;
const SITE_3 = { name: 'Site 3', password: 'site-3-password' } as const;

/** Site 2 with store A, site 3 with store B (transfer copies of each other, as in the transfers e2e test). */
async function topology(centralUrl: string): Promise<AdminClient> {
  const admin = new AdminClient({ baseUrl: centralUrl, adminToken: ADMIN_TOKEN });
  await admin.addSite(SITE_2);
  await admin.addSite(SITE_3);
  await admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
  await admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 3 });
  await admin.setCopyType('A', 3, 'transfer');
  await admin.setCopyType('B', 2, 'transfer');
  return admin;
}

const stockLines = (prefix: string, n = BATCH): SyncRecord[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'stock_line', id: `${prefix}${String(i).padStart(5, '0')}`, storeId: 'A', data: { packs: i } }));

async function until<T>(probe: () => Promise<T | null | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let dir: string;
let central: CentralProcess | null = null;
let remote: RemoteComposition | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sitesync-sigkill-'));
});

afterEach(async () => {
  await remote?.close();
  remote = null;
  await central?.stop();
  central = null;
  rmSync(dir, { recursive: true, force: true });
});

(PG_URL ? describe : describe.skip)('the central on the Postgres server, killed with SIGKILL in the middle of a push of 5,000 records', () => {
  let schema: string;
  let databaseUrl: string;
  let db: Pool;
  let locker: Client;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });

  afterAll(() => admin.end());

  beforeEach(async () => {
    schema = `sitesync_sigkill_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    await admin.query(`create schema ${schema}`);
    const url = new URL(PG_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    db = new Pool({ connectionString: url.toString(), max: 2 });
    locker = new Client({ connectionString: url.toString() });
    await locker.connect();
    url.searchParams.set('application_name', schema); // to find the central's own sessions
    databaseUrl = url.toString();
  });

  afterEach(async () => {
    await locker.end();
    await central?.stop();
    central = null;
    await sessionsGone(); // a killed central's sessions end once Postgres notices
    await db.end();
    await admin.query(`drop schema ${schema} cascade`);
  });

  const start = async (port: number) => (central = await CentralProcess.start(port, ['--database-url', databaseUrl], dir));
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
  const stockLinesHeld = () => count("select count(distinct id) as n from sync_record where type = 'stock_line' and store_id = 'A'");
  const rowsHeld = () => count("select count(*) as n from sync_record where type = 'stock_line' and store_id = 'A'");
  /** The central's session waiting for a lock, with the statement it waits in. */
  const waitingSession = (statement: RegExp) =>
    until(
      async () => {
        const rows = await db.query<{ pid: number; query: string }>(
          "select pid, query from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
          [schema],
        );
        return rows.rows.find((r) => statement.test(r.query));
      },
      `the central to wait in ${String(statement)}`,
    );
  /** Postgres has ended the killed central's sessions (and rolled back what they had not committed). */
  const sessionsGone = () =>
    until(
      async () => ((await count('select count(*) as n from pg_stat_activity where application_name = $1', [schema])) === 0 ? true : null),
      'the sessions to end',
    );

  it('killed before the batch committed: none of it is applied; after a restart the remote pushes it again and every record is there once', async () => {
    const port = await freePort();
    await start(port);
    await topology(central!.url);
    const pushes: Pushed[] = [];
    remote = await remoteSite(join(dir, 'site-2.sqlite'), central!.url, SITE_2, pushes);
    const records = stockLines('sl-kill-');
    expect((await remote.site.putRecords(records)).ok).toBe(true);

    // Writes to the record table wait for this lock: the central is held inside the push's transaction.
    await locker.query('begin');
    await locker.query('lock table sync_record in share mode');
    const sync = remote.site.sync().then(
      () => null,
      (error: unknown) => error as Error,
    );
    // (a writer takes the table's ROW EXCLUSIVE lock first, then its cursors, then inserts: it waits in the first)
    const session = await waitingSession(/insert into "?sync_record"?|lock table "?sync_record"? in row exclusive mode/i);
    expect(session.pid).toBeGreaterThan(0);
    await central!.kill9();
    await locker.query('rollback');
    expect(await sync).toMatchObject({ message: 'fetch failed' }); // the remote learns nothing: its next cycle sends the batch again
    await sessionsGone();

    expect(await rowsHeld()).toBe(0); // none of the batch
    expect(await count('select count(*) as n from sync_push_batch')).toBe(0); // and its id is not taken
    expect((await remote.site.status()).waitingToPush).toBe(BATCH);

    await start(port); // the same database
    const outcome = await remote.site.sync();
    expect(outcome).toMatchObject({ pushed: BATCH, refused: 0 });
    expect(answers(pushes)).toEqual([expect.objectContaining({ accepted: BATCH, refused: [] })]);
    expect(await rowsHeld()).toBe(BATCH);
    expect(await stockLinesHeld()).toBe(BATCH);
    // one change-feed entry per record: none was written twice
    expect(await count('select last_seq as n from sync_feed_state where id = 1')).toBe(BATCH);
    expect((await remote.site.status()).waitingToPush).toBe(0);
  });

  it('killed after the batch committed, before the answer: all of it is applied; the resent batch is a replay and its transfer is completed after the restart', async () => {
    const port = await freePort();
    await start(port);
    await topology(central!.url);
    const pushes: Pushed[] = [];
    remote = await remoteSite(join(dir, 'site-2.sqlite'), central!.url, SITE_2, pushes);
    // one batch of 5,000: a customer invoice from A to B (a transfer the central completes) and stock lines
    const invoice = recordsOf(customerInvoice({ id: 'ci-A-B-kill', from: 'A', to: 'B', lines: [{ itemId: 'item-1', quantity: 3 }] }));
    const records = [...invoice, ...stockLines('sl-kill-', BATCH - invoice.length)];
    expect((await remote.site.putRecords(records)).ok).toBe(true);

    // The push commits; the processing after it (transfers, before the answer) reads consumer cursors and waits here.
    await locker.query('begin');
    await locker.query('lock table sync_consumer in access exclusive mode');
    const sync = remote.site.sync().then(
      () => null,
      (error: unknown) => error as Error,
    );
    await waitingSession(/sync_consumer/i);
    expect(await rowsHeld()).toBe(BATCH - invoice.length); // committed, while the remote still waits for its answer
    await central!.kill9();
    await locker.query('rollback');
    expect(await sync).toMatchObject({ message: 'fetch failed' });
    expect(pushes).toEqual([{ error: expect.objectContaining({ message: 'fetch failed' }) }]);
    await sessionsGone();

    expect(await rowsHeld()).toBe(BATCH - invoice.length); // all of the batch
    expect(await count("select count(*) as n from sync_record where type = 'transaction' and id = 'ci-A-B-kill'")).toBe(1);

    await start(port);
    // the processing the kill interrupted is done when the central starts again
    expect(await count("select count(*) as n from sync_record where type = 'transaction' and id = $1", [respondingId('ci-A-B-kill', 'stock-transfer')])).toBe(
      1,
    );
    const head = await count('select last_seq as n from sync_feed_state where id = 1');

    const outcome = await remote.site.sync();
    // the batch is sent again under its id and answered as the first time, without being applied again;
    // in the cycle's second pass the customer invoice goes once more: it now shows its supplier invoice (data.response)
    expect(answers(pushes)).toEqual([
      expect.objectContaining({ replayed: true, accepted: BATCH, refused: [] }),
      expect.objectContaining({ accepted: 1, refused: [] }),
    ]);
    expect(outcome.pushed).toBe(BATCH + 1);
    expect(await count("select count(*) as n from sync_record where source_site_id = 2 and seq > $1 and id <> 'ci-A-B-kill'", [head])).toBe(0);
    expect(await count("select count(*) as n from sync_record where id = 'ci-A-B-kill' and data->'response'->>'state' = 'created'")).toBe(1);
    expect(await rowsHeld()).toBe(BATCH - invoice.length);
    expect(await stockLinesHeld()).toBe(BATCH - invoice.length);
    expect((await remote.site.status()).waitingToPush).toBe(0);
  });
});
