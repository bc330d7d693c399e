import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncRecord } from '@sitesync/domain';
import { AdminClient, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, CONFIG_SETTING, REMOTE_TOKENS, type RemoteComposition } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { recordingGateway, type PushLog } from './cluster';

/**
 * The central as a real process (apps/central-server/dist/main.js, built by `npx tsc -b`) on
 * embedded PGlite in a data directory, killed with SIGKILL once it has stored a push of 5,000
 * records and before it answers, then started again on the same directory. (The kill inside the
 * push's transaction, and the same on the Postgres server: faults-sigkill-postgres.e2e.test.ts.)
 */
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const ADMIN_TOKEN = 'sigkill-pglite-admin-token';
const BATCH = 5_000;

/** `sitesync-central serve --data-dir DIR` as a child process; `logged` waits for a line of its log. */
async function startCentral(port: number, dataDir: string) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with \`npx tsc -b\``);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (http:\/\/\S+)/.exec(chunk.toString('utf8'));
      if (match) resolve(match[1]!);
    });
    void exited.then((how) => reject(new Error(`the central exited (${String(how)}) before listening: ${log}`)));
  });
  return {
    url,
    logged: (pattern: RegExp) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!pattern.test(log)) return;
          child.stderr.off('data', check);
          resolve();
        };
        child.stderr.on('data', check);
        check();
      }),
    kill9: async () => {
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

let dir: string;
let central: Awaited<ReturnType<typeof startCentral>> | null = null;
const remotes: RemoteComposition[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sitesync-sigkill-pglite-'));
});

afterEach(async () => {
  for (const remote of remotes.splice(0)) await remote.close();
  await central?.stop();
  central = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A remote site in this process over HTTP to the central process, sending up to 5,000 records per push; what its pushes brought back is kept. */
async function remoteSite(name: string, centralUrl: string, pushes: PushLog = []): Promise<RemoteComposition> {
  const remote = await composeRemoteSite(join(dir, `${name}.sqlite`), {
    gatewayFor: recordingGateway(pushes),
  });
  remotes.push(remote);
  const config = await remote.site.init({ centralUrl, siteName: name, passwordSha256: sha256Hex(`${name} password`), hardwareId: `device of ${name}` });
  // A remote whose recent requests were fast sends up to 5,000 records per request (nextRequestSize): start there.
  await remote.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage).storage.settings.set(CONFIG_SETTING, { ...config, requestSize: BATCH });
  return remote;
}

it('the central on PGlite, killed after storing a push of 5,000 records and before answering: the batch survives whole, the resent batch is a replay, every record is there once', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  const dataDir = join(dir, 'central');
  central = await startCentral(port, dataDir);
  const admin = new AdminClient({ baseUrl: central.url, adminToken: ADMIN_TOKEN });
  for (const name of ['Site 2', 'Site 3']) await admin.addSite({ name, password: `${name} password` });
  await admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
  await admin.setCopyType('A', 3, 'collector'); // site 3 receives what the central holds of store A: it counts it from outside

  const pushes: PushLog = [];
  const remote = await remoteSite('Site 2', central.url, pushes);
  const collector = await remoteSite('Site 3', central.url);
  // transactions of the store (documents the processors look at): the answer waits for the processing after the commit
  const records: SyncRecord[] = Array.from({ length: BATCH }, (_, i) => ({
    type: 'transaction',
    id: `tx-kill-${String(i).padStart(5, '0')}`,
    storeId: 'A',
    data: { packs: i },
  }));
  expect((await remote.site.putRecords(records)).ok).toBe(true);

  const sync = remote.site.sync().then(
    () => null,
    (error: unknown) => error as Error,
  );
  // logged once the batch is committed; the answer waits for the transfer processing after it
  await central.logged(/"msg":"push received"/);
  await central.kill9();
  expect(await sync).toMatchObject({ message: 'fetch failed' });
  expect(pushes).toEqual([{ error: expect.objectContaining({ message: 'fetch failed' }) }]);

  central = await startCentral(port, dataDir);
  // what the central holds after the kill, as its collector site receives it: the whole batch
  let received = (await collector.site.sync()).pulled;
  expect(received).toBe(BATCH);

  const outcome = await remote.site.sync();
  expect(outcome).toMatchObject({ pushed: BATCH, refused: 0 });
  expect(pushes.slice(1)).toEqual([{ answer: expect.objectContaining({ replayed: true, accepted: BATCH, refused: [] }) }]);
  received += (await collector.site.sync()).pulled;
  expect(received).toBe(BATCH); // nothing was stored again, so nothing reaches the collector twice
  expect((await collector.site.listRecords('transaction')).map((r) => r.id)).toEqual(records.map((r) => r.id));
  expect((await remote.site.status()).waitingToPush).toBe(0);
});
