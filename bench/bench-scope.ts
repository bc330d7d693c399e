/**
 * npm run bench:scope [-- --records 100000] [-- --quick] [-- --analyze] [-- --items 20000 --sizes 100000,400000 --repeat 20]
 *
 * Scope changes (issue 11): what a topology change costs the central, and how fast a site gets the
 * records it queued. The central runs in this process on the Postgres server at PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test, a fresh schema per phase) and answers over loopback HTTP;
 * the remote is a child process with its SQLite file (so its CPU and RSS are its own).
 *
 * (1) A collector copy of store X (N records on the central, active on another site) is added for a
 *     remote that has synced everything else: (a) the central's topology change, through the admin
 *     API, and the same `saveTopologyChange` in a rolled-back transaction with its phases timed
 *     (select, enqueue, the rest: rule evaluation); against raw Postgres (the N keys selected and
 *     inserted into a queue table of the same shape, server-side and through the client);
 *     (b) the remote's next sync until it holds the N records, against a raw better-sqlite3 insert of
 *     the same rows in one transaction.
 * (2) A change with nothing to queue (copy type of an empty store; a store renamed) at two database
 *     sizes: median time of each, and the ratio between sizes.
 * (3) A store move of X (N records): queued to two sites (the old one drops, the new one gets them).
 *
 * --quick: N = 10,000, 2,000 items, sizes 10,000 / 40,000, 8 rounds (under a minute).
 * --items: central data the remote holds before the change; --sizes: the two database sizes of (2);
 * --repeat: rounds of (2), each changing and changing back through the admin API and in process.
 * --analyze: experiment, `analyze sync_record, sync_resync` on the central after the topology
 *   change and before the remote's sync (fresh planner statistics, as autovacuum gives eventually).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { orThrow, planStoreMove, saveTopologyChange, type ScopeChangeReport, type SyncRecord, type SyncStorage, type Topology } from '@sitesync/domain';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { PG_URL, record, withCentral, type Central } from './bench-central';
import type { AdminClient } from '@sitesync/http';
import { benchArgs } from './bench-args';

const run = promisify(execFile);
const args = benchArgs();
const QUICK = args.has('quick');
const N = Number(args.get('records') ?? (QUICK ? 10_000 : 100_000));
/** central data (items) the remote already holds before the change */
const ITEMS = Number(args.get('items') ?? (QUICK ? 2_000 : 20_000));
/** records of other stores for the "nothing to queue" changes */
const SIZES = (args.get('sizes') ?? (QUICK ? '10000,40000' : '100000,400000')).split(',').map(Number);
const REPEAT = Number(args.get('repeat') ?? (QUICK ? 8 : 20));
const ANALYZE = args.has('analyze');
const BATCH = 5_000;

const say = (line: string) => process.stdout.write(`${line}\n`);
const n = (x: number) => Math.round(x).toLocaleString('en');
const s = (seconds: number) => (seconds >= 10 ? seconds.toFixed(1) : seconds.toFixed(2));
const ms = (seconds: number) => (seconds * 1000).toFixed(1);
/** seconds under 1 s in ms */
const dur = (seconds: number) => (seconds < 1 ? `${ms(seconds)} ms` : `${s(seconds)} s`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const now = () => process.hrtime.bigint();
const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const xId = (i: number) => `x-${String(i).padStart(8, '0')}`;

async function writeRecords(central: Central, count: number, make: (i: number) => SyncRecord, sourceSiteId: number, from = 0): Promise<void> {
  for (let start = from; start < from + count; start += BATCH) {
    const batch: SyncRecord[] = [];
    for (let i = start; i < Math.min(from + count, start + BATCH); i++) batch.push(make(i));
    await central.storage.storage.records.upsert(batch, { sourceSiteId, viaSync: sourceSiteId !== 1 });
  }
  // number them before anything is timed: the sequencer numbers up to 100,000 records per read
  for (let head = -1n; ;) {
    const next = await central.storage.storage.changes.head();
    if (next === head) break;
    head = next;
  }
}

/** A pool on the schema `withCentral(name)` made (bench_<name>_<pid>), for the raw baselines. */
function schemaPool(name: string): Pool {
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=bench_${name}_${process.pid}`);
  return new Pool({ connectionString: url.toString(), max: 1 });
}

/** CPU seconds so far of each process of the local Postgres server, by pid (null when they cannot be seen). */
function postgresCpu(): Map<string, number> | null {
  const seconds = new Map<string, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const fields = stat.slice(close + 2).split(' ');
        seconds.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return null;
  }
  return seconds.size > 0 ? seconds : null;
}

/** CPU the Postgres processes used between two samples (a process that ended meanwhile is not counted). */
function postgresCpuSince(before: Map<string, number> | null): number | null {
  const after = postgresCpu();
  if (before === null || after === null) return null;
  let used = 0;
  for (const [pid, seconds] of after) used += seconds - (before.get(pid) ?? 0);
  return used;
}

interface ChildResult {
  readonly pulled: number;
  readonly seconds: number;
  readonly lastBatchSeconds: number;
  readonly pullRequests: number;
  readonly cpuSeconds: number;
  readonly peakRss: number;
}

/** One sync of the remote (a child process), with the CPU this process (the central) and Postgres used meanwhile. */
async function remoteSync(file: string, central: Central, mode: 'init' | 'sync'): Promise<ChildResult & { centralCpu: number; postgresCpu: number | null }> {
  const cpu = process.cpuUsage();
  const pg = postgresCpu();
  const child = await run(process.execPath, [join(__dirname, 'remote-child.js'), file, central.url, 'bench-remote', 'bench-pw', mode], {
    maxBuffer: 1 << 20,
  });
  const used = process.cpuUsage(cpu);
  const pgUsed = postgresCpuSince(pg);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
  return { ...result, centralCpu: (used.user + used.system) / 1e6, postgresCpu: pgUsed };
}

class Rollback extends Error {}

/** Seconds spent per port method (and calls), for the phases of a topology change. */
class Phases {
  readonly seconds = new Map<string, number>();
  readonly calls = new Map<string, number>();
  add(name: string, seconds: number): void {
    this.seconds.set(name, (this.seconds.get(name) ?? 0) + seconds);
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }
  get(name: string): number {
    return this.seconds.get(name) ?? 0;
  }
  count(name: string): number {
    return this.calls.get(name) ?? 0;
  }
}

/** `storage` with every call of its topology, record and resync ports timed into `phases`. */
function timed(storage: SyncStorage, phases: Phases): SyncStorage {
  const wrap = <T extends object>(port: T, name: string): T =>
    new Proxy(port, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...callArgs: unknown[]) => {
          const start = now();
          try {
            return await (value as (...a: unknown[]) => unknown).apply(target, callArgs);
          } finally {
            phases.add(`${name}.${String(prop)}`, since(start));
          }
        };
      },
    });
  return {
    topology: wrap(storage.topology, 'topology'),
    records: wrap(storage.records, 'records'),
    changes: storage.changes,
    inbound: storage.inbound,
    issues: storage.issues,
    pushes: storage.pushes,
    settings: storage.settings,
    resync: wrap(storage.resync, 'resync'),
  };
}

/** `saveTopologyChange(before, after)` with its phases timed, in a transaction that is rolled back (nothing changes). */
async function dryRun(central: Central, before: Topology, after: Topology): Promise<{ seconds: number; phases: Phases; report: ScopeChangeReport }> {
  const phases = new Phases();
  let outcome: { seconds: number; report: ScopeChangeReport } | undefined;
  await central.storage
    .run(async (storage) => {
      const start = now();
      const report = await saveTopologyChange(timed(storage, phases), before, after, new Date());
      outcome = { seconds: since(start), report };
      throw new Rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return { ...outcome!, phases };
}

function describePhases(label: string, dry: { seconds: number; phases: Phases; report: ScopeChangeReport }): string {
  const { phases, seconds } = dry;
  const select = phases.get('records.select');
  const enqueue = phases.get('resync.enqueue');
  const lock = phases.get('records.holdWrites');
  const save = phases.get('topology.save');
  const rest = seconds - select - enqueue - lock - save;
  const queued = [...dry.report.queued].map(([site, count]) => `site ${site}: ${n(count)}`).join(', ') || 'nothing';
  return (
    `    ${label}: ${dur(seconds)} (rolled back): records.select ${dur(select)} (${phases.count('records.select')} queries, ${n(dry.report.examined)} records examined), ` +
    `resync.enqueue ${dur(enqueue)} (${phases.count('resync.enqueue')} calls), lock ${dur(lock)}, topology.save ${dur(save)}, ` +
    `rule evaluation and the rest ${dur(rest)}; queued ${queued}`
  );
}

/** Raw Postgres: the keys of store `storeId` into a queue table shaped like sync_resync, for each site; server-side, then through the client. */
async function rawQueue(pool: Pool, storeId: string, siteIds: readonly number[]): Promise<{ serverSide: number; viaClient: number; keys: number }> {
  const table = 'bench_raw_resync';
  const create = async () => {
    await pool.query(`drop table if exists ${table}`);
    await pool.query(
      `create table ${table} (site_id integer not null, type text not null, id text not null, seq bigint not null, primary key (site_id, type, id))`,
    );
    await pool.query(`create index ${table}_seq on ${table} (site_id, seq)`);
  };
  await create();
  let start = now();
  await pool.query('begin');
  for (const siteId of siteIds) {
    await pool.query(
      `insert into ${table} (site_id, type, id, seq) select $1, type, id, row_number() over (order by type, id) from sync_record where store_id = $2 order by type, id`,
      [siteId, storeId],
    );
  }
  await pool.query('commit');
  const serverSide = since(start);
  await create();
  start = now();
  await pool.query('begin');
  const { rows } = await pool.query<{ type: string; id: string }>(`select type, id from sync_record where store_id = $1 order by type, id`, [storeId]);
  for (const siteId of siteIds) {
    for (let from = 0; from < rows.length; from += BATCH) {
      const part = rows.slice(from, from + BATCH);
      await pool.query(
        `insert into ${table} (site_id, type, id, seq) select $1, t, i, $4::bigint + o from unnest($2::text[], $3::text[]) with ordinality as u(t, i, o)`,
        [siteId, part.map((r) => r.type), part.map((r) => r.id), from],
      );
    }
  }
  await pool.query('commit');
  const viaClient = since(start);
  await pool.query(`drop table ${table}`);
  return { serverSide, viaClient, keys: rows.length * siteIds.length };
}

/** Raw better-sqlite3: the same N rows inserted in one transaction (WAL, synchronous = NORMAL), as bench:sync does. */
function rawSqliteInsert(file: string, count: number): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table t (type text not null, id text not null, store_id text, data text not null, primary key (type, id)) without rowid');
  const insert = db.prepare('insert into t (type, id, store_id, data) values (?, ?, ?, ?)');
  const start = now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const r = record('stock_line', xId(i), 'X');
      insert.run(r.type, r.id, r.storeId, JSON.stringify(r.data));
    }
  })();
  const seconds = since(start);
  db.close();
  return seconds;
}

async function timedCall<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = now();
  const value = await work();
  return { seconds: since(start), value };
}

async function collectorCopyAndMove(dir: string): Promise<void> {
  await withCentral('scope', async (central, admin) => {
    const remoteSite = await admin.addSite({ name: 'bench-remote', password: 'bench-pw' });
    const otherSite = await admin.addSite({ name: 'other-site', password: 'other-pw' });
    const moveTarget = await admin.addSite({ name: 'move-target', password: 'move-pw' });
    await admin.addStore({ code: 'R', name: 'Remote store', activeSiteId: remoteSite.id });
    await admin.addStore({ code: 'X', name: 'Store X', activeSiteId: otherSite.id }); // a collector copy on the central
    await writeRecords(central, ITEMS, (i) => ({ type: 'item', id: `item-${String(i).padStart(8, '0')}`, data: { code: `I${i}`, name: `Item ${i}` } }), 1);
    await writeRecords(central, N, (i) => record('stock_line', xId(i), 'X'), otherSite.id);
    const file = join(dir, 'remote.sqlite');
    const init = await remoteSync(file, central, 'init');
    say(
      `  setup: central holds ${n(N)} records of store X (active on site ${otherSite.id}) and ${n(ITEMS)} items; the remote (site ${remoteSite.id}) ` +
        `synced everything routed to it: ${n(init.pulled)} records in ${s(init.seconds)} s`,
    );

    // (a) the central's topology change
    const pool = schemaPool('scope');
    try {
      const before = (await central.storage.storage.topology.load())!;
      const dry = await dryRun(central, before, orThrow(before.withCopyType('X', remoteSite.id, 'collector')));
      await pool.query('vacuum sync_resync'); // the rolled-back entries
      const raw = await rawQueue(pool, 'X', [remoteSite.id]);
      const change = await timedCall(() => admin.setCopyType('X', remoteSite.id, 'collector'));
      const queued = await central.storage.storage.resync.count(remoteSite.id, 0n);
      say(`(1) collector copy of store X (${n(N)} records) added for the remote site`);
      say(
        `  (a) central, PUT /admin/v1/stores/X/copies/${remoteSite.id} (saveTopologyChange, committed): ${s(change.seconds)} s for ${n(queued)} entries queued = ${n(queued / change.seconds)} entries/s; ` +
          `raw Postgres same run: insert ... select ${s(raw.serverSide)} s (ratio ${(raw.serverSide / change.seconds).toFixed(2)}), ` +
          `select to the client + unnest insert ${s(raw.viaClient)} s (ratio ${(raw.viaClient / change.seconds).toFixed(2)})`,
      );
      say(describePhases('same change, phases', dry));

      if (ANALYZE) await pool.query('analyze sync_record; analyze sync_resync');
      // (b) the remote's next sync brings the N records
      const sync = await remoteSync(file, central, 'sync');
      const db = new Database(file, { readonly: true });
      const held = (db.prepare(`select count(*) as c from sync_record where store_id = 'X'`).get() as { c: number }).c;
      db.close();
      const rawSqlite = rawSqliteInsert(join(dir, 'raw.sqlite'), N);
      const pgCpu = sync.postgresCpu === null ? '' : `, Postgres ${s(sync.postgresCpu)} s`;
      say(
        `  (b) remote sync (child process, SQLite file, loopback HTTP${ANALYZE ? ', central tables analyzed before it' : ''}): all ${n(held)}/${n(N)} records held after ${s(sync.lastBatchSeconds)} s ` +
          `(last pulled batch applied; the whole sync ${s(sync.seconds)} s, ${sync.pullRequests} pull requests) = ${n(held / sync.lastBatchSeconds)} records/s; ` +
          `raw better-sqlite3 insert of the same rows ${s(rawSqlite)} s = ${n(N / rawSqlite)} records/s; ratio ${(rawSqlite / sync.lastBatchSeconds).toFixed(2)}`,
      );
      say(
        `      CPU during the sync: remote ${s(sync.cpuSeconds)} s, central process ${s(sync.centralCpu)} s${pgCpu}; remote peak RSS ${mb(sync.peakRss)}; ` +
          `queue left for the site: ${n(await central.storage.storage.resync.count(remoteSite.id, 0n))}`,
      );

      // (3) a store move: X to another site, nothing left on the old one
      const beforeMove = (await central.storage.storage.topology.load())!;
      const plan = orThrow(planStoreMove(beforeMove, 'X', moveTarget.id, 'none'));
      const dryMove = await dryRun(central, beforeMove, plan.topology);
      await pool.query('vacuum sync_resync');
      const rawMove = await rawQueue(pool, 'X', [otherSite.id, moveTarget.id]);
      const move = await timedCall(() => admin.moveStore('X', { toSiteId: moveTarget.id, oldSiteCopy: 'none', force: true }));
      const queuedMove = Object.entries(move.value.queued)
        .map(([site, count]) => `site ${site}: ${n(count)}`)
        .join(', ');
      const total = Object.values(move.value.queued).reduce((a, b) => a + b, 0);
      say(`(3) store move of X (${n(N)} records) from site ${otherSite.id} to site ${moveTarget.id}, no copy left on the old site`);
      say(
        `  central, POST /admin/v1/stores/X/move: ${s(move.seconds)} s for ${n(total)} entries (${queuedMove}) = ${n(total / move.seconds)} entries/s; ` +
          `raw Postgres same run: insert ... select ${s(rawMove.serverSide)} s (ratio ${(rawMove.serverSide / move.seconds).toFixed(2)}), ` +
          `select to the client + unnest insert ${s(rawMove.viaClient)} s (ratio ${(rawMove.viaClient / move.seconds).toFixed(2)})`,
      );
      say(describePhases('same move, phases', dryMove));
    } finally {
      await pool.end();
    }
  });
}

interface SizedCentral {
  readonly size: number;
  readonly central: Central;
  readonly admin: AdminClient;
  readonly other: number;
  readonly base: Topology;
  readonly times: { copyAdmin: number[]; renameAdmin: number[]; copyDirect: number[]; renameDirect: number[] };
}

/** A central holding `size` records of four stores active on another site, and store E (no records) active on its remote. */
async function sizedCentral(size: number, central: Central, admin: AdminClient): Promise<SizedCentral> {
  const remote = await admin.addSite({ name: 'size-remote', password: 'size-pw' });
  const other = await admin.addSite({ name: 'size-other', password: 'other-pw' });
  const stores = ['O1', 'O2', 'O3', 'O4'];
  for (const code of stores) await admin.addStore({ code, name: `Other store ${code}`, activeSiteId: other.id });
  await admin.addStore({ code: 'E', name: 'Empty store', activeSiteId: remote.id, copies: [{ siteId: other.id, type: 'transfer' }] });
  await writeRecords(central, size, (i) => record('stock_line', `o-${String(i).padStart(8, '0')}`, stores[i % stores.length]!), other.id);
  const base = (await central.storage.storage.topology.load())!;
  return { size, central, admin, other: other.id, base, times: { copyAdmin: [], renameAdmin: [], copyDirect: [], renameDirect: [] } };
}

/** One round on one central: each change through the admin API and in process (committed), each followed by its reverse. */
async function nothingToQueueRound(c: SizedCentral): Promise<void> {
  const { central, admin, other, base, times } = c;
  times.copyAdmin.push((await timedCall(() => admin.setCopyType('E', other, 'collector'))).seconds);
  times.copyAdmin.push((await timedCall(() => admin.setCopyType('E', other, 'transfer'))).seconds);
  times.renameAdmin.push((await timedCall(() => admin.patchStore('E', { name: 'Empty store renamed' }))).seconds);
  times.renameAdmin.push((await timedCall(() => admin.patchStore('E', { name: 'Empty store' }))).seconds);
  // In process, from and back to the topology the admin API left (the same content: its cache stays right).
  const copied = orThrow(base.withCopyType('E', other, 'collector'));
  const renamed = orThrow(base.updateStore('E', { name: 'Empty store renamed' }));
  const direct = async (from: Topology, to: Topology) => {
    const start = now();
    const report = await central.storage.run((st) => saveTopologyChange(st, from, to, new Date()));
    if (report.queued.size > 0) throw new Error('a change that should queue nothing queued records');
    return since(start);
  };
  times.copyDirect.push(await direct(base, copied), await direct(copied, base));
  times.renameDirect.push(await direct(base, renamed), await direct(renamed, base));
}

async function nothingToQueue(): Promise<void> {
  const [smallSize, largeSize] = [SIZES[0]!, SIZES[SIZES.length - 1]!];
  await withCentral('scope_small', (smallCentral, smallAdmin) =>
    withCentral('scope_large', async (largeCentral, largeAdmin) => {
      const small = await sizedCentral(smallSize, smallCentral, smallAdmin);
      const large = await sizedCentral(largeSize, largeCentral, largeAdmin);
      // Steady state: the bulk load's autovacuum would otherwise run during the measurements (and a
      // topology change's share lock on sync_record waits for it; see docs/performance.md).
      for (const name of ['scope_small', 'scope_large']) {
        const pool = schemaPool(name);
        await pool.query('vacuum analyze sync_record');
        await pool.end();
      }
      // alternating, so that drift on this machine touches both sizes alike
      for (let r = 0; r < REPEAT; r++) for (const c of r % 2 === 0 ? [small, large] : [large, small]) await nothingToQueueRound(c);
      say(`(2) a topology change with nothing to queue, median of ${2 * REPEAT} changes each, the two sizes alternating`);
      for (const c of [small, large]) {
        const copied = orThrow(c.base.withCopyType('E', c.other, 'collector'));
        const dry = await dryRun(c.central, c.base, copied);
        say(
          `  ${n(c.size)} records of other stores: copy type of empty store E changed: admin API ${ms(median(c.times.copyAdmin))} ms, ` +
            `saveTopologyChange ${ms(median(c.times.copyDirect))} ms; store E renamed (no selector): admin API ${ms(median(c.times.renameAdmin))} ms, ` +
            `saveTopologyChange ${ms(median(c.times.renameDirect))} ms`,
        );
        say(describePhases('copy type change, phases', dry));
      }
      const ratio = (pick: (t: SizedCentral['times']) => number[]) => (median(pick(large.times)) / median(pick(small.times))).toFixed(2);
      say(
        `  ratio ${n(largeSize)} / ${n(smallSize)} records: copy type ${ratio((t) => t.copyAdmin)} (admin API), ${ratio((t) => t.copyDirect)} (in process); ` +
          `rename ${ratio((t) => t.renameAdmin)} (admin API), ${ratio((t) => t.renameDirect)} (in process)`,
      );
    }),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-bench-scope-'));
  say(
    `sitesync scope-change benchmark${QUICK ? ' (--quick)' : ''}, node ${process.version}, N = ${n(N)}; central on the Postgres server over loopback HTTP, remote SQLite in a child process`,
  );
  try {
    await collectorCopyAndMove(dir);
    await nothingToQueue();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
