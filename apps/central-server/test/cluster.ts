import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCentralServer, type RunningCentral } from '@sitesync/central-server';
import type { CentralSyncGateway, PushOutcome } from '@sitesync/domain';
import { AdminClient, HttpCentralSyncGateway, ScryptPasswordHasher, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS, type GatewayFactory, type RemoteComposition, type RemoteSite } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { sql } from 'kysely';
import { Pool } from 'pg';
import { pino } from 'pino';
import { RoundRobinBalancer } from './round-robin-balancer';

/** End-to-end tests run with the central on embedded PGlite, and on the real Postgres server when PG_URL is set (always in CI). */
export const PG_URL = process.env['PG_URL'];
if (process.env['CI'] && !PG_URL)
  throw new Error('CI is set but PG_URL is not: the end-to-end tests must also run with the central on the real Postgres server.');

export interface Engine {
  readonly name: string;
  database(): Promise<{ databaseUrl?: string; drop(): Promise<void> }>;
  /** central processes sharing the database, behind a round-robin balancer (default 1) */
  readonly centrals?: number;
}

/** A fresh schema of the Postgres server at PG_URL, dropped afterwards. */
async function postgresSchema(): Promise<{ databaseUrl: string; drop(): Promise<void> }> {
  const schema = `sitesync_e2e_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`create schema ${schema}`);
  const url = new URL(PG_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    databaseUrl: url.toString(),
    async drop() {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

export const ENGINES: Engine[] = [
  { name: 'embedded PGlite', database: () => Promise.resolve({ drop: () => Promise.resolve() }) },
  ...(PG_URL
    ? [
        { name: 'the real Postgres server', database: postgresSchema },
        // nothing correct may depend on one process's memory: every request goes to the next of two
        { name: 'two central processes on the real Postgres server', database: postgresSchema, centrals: 2 },
      ]
    : []),
];

/** A remote's real HTTP gateway with some of its calls replaced: `wrap` gets the real one and returns the replacements. */
export function wrappedGateway(wrap: (real: CentralSyncGateway) => Partial<CentralSyncGateway>): GatewayFactory {
  return (config) => {
    const real: CentralSyncGateway = new HttpCentralSyncGateway({
      baseUrl: config.centralUrl,
      siteName: config.siteName,
      passwordSha256: config.passwordSha256,
      hardwareId: config.hardwareId,
    });
    return {
      siteInfo: (options) => real.siteInfo(options),
      push: (id, records) => real.push(id, records),
      pull: (cursor, limit, options) => real.pull(cursor, limit, options),
      ...wrap(real),
    };
  };
}

/** What a remote's pushes brought back: each answer, or the error it failed with. */
export type PushLog = ({ answer: PushOutcome } | { error: Error })[];

/** A real gateway whose push answers and failures are kept in `log`; `beforePush` runs before each push. */
export function recordingGateway(log: PushLog, beforePush: () => void = () => undefined): GatewayFactory {
  return wrappedGateway((real) => ({
    push: async (id, records) => {
      beforePush();
      try {
        const answer = await real.push(id, records);
        log.push({ answer });
        return answer;
      } catch (error) {
        log.push({ error: error as Error });
        throw error;
      }
    },
  }));
}

/**
 * A remote's real HTTP gateway whose pull is wrapped, to simulate a process dying in the middle of
 * a sync: `pull` gets the real pull and decides what to do with it.
 */
export function dyingGateway(
  pull: (
    real: CentralSyncGateway,
    cursor: bigint,
    limit: number,
    options?: Parameters<CentralSyncGateway['pull']>[2],
  ) => ReturnType<CentralSyncGateway['pull']>,
): GatewayFactory {
  return wrappedGateway((real) => ({ pull: (cursor, limit, options) => pull(real, cursor, limit, options) }));
}

/** A running central and remote sites (each a SQLite file), over real HTTP on loopback. */
export class Cluster {
  readonly remotes = new Map<number, RemoteComposition>();
  private readonly files = new Map<number, string>();
  private readonly passwords = new Map<number, { name: string; password: string }>();

  private constructor(
    /** the central (with several processes: the first one, with the balancer's URL) */
    readonly central: RunningCentral,
    readonly admin: AdminClient,
    private readonly dir: string,
    private readonly shutDown: () => Promise<void>,
  ) {}

  static async start(engine: Engine): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'sitesync-e2e-'));
    const database = await engine.database();
    const centrals: RunningCentral[] = [];
    for (let i = 0; i < (engine.centrals ?? 1); i++) {
      centrals.push(
        await startCentralServer({
          port: 0,
          dataDir: ':memory:',
          ...(database.databaseUrl ? { databaseUrl: database.databaseUrl } : {}),
          adminToken: 'e2e-admin-token',
          logger: pino({ level: 'silent' }),
          hasher: new ScryptPasswordHasher({ cost: 1024 }),
        }),
      );
    }
    const balancer = centrals.length > 1 ? await RoundRobinBalancer.start(centrals.map((c) => c.url)) : null;
    const central: RunningCentral = balancer ? Object.create(centrals[0]!, { url: { value: balancer.url } }) : centrals[0]!;
    const shutDown = async () => {
      await balancer?.stop();
      for (const c of centrals) await c.close();
      await database.drop();
    };
    return new Cluster(central, new AdminClient({ baseUrl: central.url, adminToken: central.adminToken }), dir, shutDown);
  }

  /** Creates a site on the central and a remote site bound to it. */
  async addRemote(name: string): Promise<number> {
    const password = `${name}-password`;
    const site = await this.admin.addSite({ name, password });
    this.files.set(site.id, join(this.dir, `site-${site.id}.sqlite`));
    this.passwords.set(site.id, { name, password });
    return site.id;
  }

  /**
   * Opens (or reopens, after a simulated crash) a remote site's process from its file, and binds it
   * on first open (with `hardwareId`, `device-<siteId>` by default).
   */
  async open(siteId: number, gatewayFor?: GatewayFactory, hardwareId = `device-${siteId}`): Promise<RemoteSite> {
    const remote = await composeRemoteSite(this.files.get(siteId)!, gatewayFor ? { gatewayFor } : {});
    this.remotes.set(siteId, remote);
    if (!(await remote.site.config())) {
      const { name, password } = this.passwords.get(siteId)!;
      await remote.site.init({ centralUrl: this.central.url, siteName: name, passwordSha256: sha256Hex(password), hardwareId });
    }
    return remote.site;
  }

  /** A consistent copy of a running site's file (as a backup tool would take it); returns its path. */
  async backup(siteId: number, label: string): Promise<string> {
    const path = join(this.dir, `site-${siteId}-${label}.backup.sqlite`);
    await sql`vacuum into ${path}`.execute(this.storageOf(siteId).db); // the file is open: copied through SQLite itself
    return path;
  }

  /**
   * Ends the site's process and replaces its data file: with a copy of `backupPath` (a restored
   * backup, or a file copied to a new device), or with nothing (a new device, a re-initialised site).
   */
  async replaceFile(siteId: number, backupPath: string | null): Promise<void> {
    await this.kill(siteId);
    const file = this.files.get(siteId)!;
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    if (backupPath !== null) copyFileSync(backupPath, file);
  }

  /** Ends a remote site's process (its database closes). */
  async kill(siteId: number): Promise<void> {
    await this.remotes.get(siteId)?.close();
    this.remotes.delete(siteId);
  }

  site(siteId: number): RemoteSite {
    const remote = this.remotes.get(siteId);
    if (!remote) throw new Error(`site ${siteId} is not running`);
    return remote.site;
  }

  storageOf(siteId: number): SqliteSyncStorage {
    return this.remotes.get(siteId)!.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage);
  }

  async has(siteId: number, type: string, id: string): Promise<boolean> {
    const store = siteId === 1 ? this.central.storage.storage : this.storageOf(siteId).storage;
    return (await store.records.get(type, id)) !== null;
  }

  async stop(): Promise<void> {
    for (const remote of this.remotes.values()) await remote.close();
    await this.shutDown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
