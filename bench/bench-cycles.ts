/**
 * npm run bench:cycles [-- --sites 500 --centrals 1 --seconds 10 --concurrency 48 --rate 200] [-- --quick]
 *
 * Many sites, small sync cycles (issue 14, item 3), against `sitesync-central serve` child processes
 * (`--centrals N`, default 1; 2 spreads every site's requests over both, in turn, as a load balancer
 * would) on one fresh schema of the Postgres server at PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test), over loopback HTTP. S sites with a store each (collector
 * copy on the central); each simulated site (the real HTTP gateway, in this process) makes a
 * remote's sync cycle on the wire: site info (sending the topology version it holds), a push of 5
 * new stock lines of its store, pulls from its cursor until nothing remains (nothing or a few
 * records come back). The site's own storage is left out: it runs on its own device, and here it
 * would share the 2 cores with the central. Prints:
 * - saturation: as many cycles as `--concurrency` sites at a time can make in `--seconds`: cycles/s,
 *   p50/p99 of a cycle;
 * - steady: cycles started at `--rate` per second for `--seconds`: p50/p99/max of a cycle, and the rate kept;
 * - the raw baseline, same run: pg doing each cycle's essential statements (an `unnest` insert of
 *   the 5 rows, a read of the feed after a cursor, a cursor write, in one transaction) at the same
 *   concurrency, and the ratio.
 * `--quick`: 100 sites, 5 s per phase (under a minute with the build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { buildTopology, orThrow, type CentralSyncGateway, type SiteInput, type StoreInput, type SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway, ScryptPasswordHasher, sha256Hex } from '@sitesync/http';
import { openPostgresSyncStorage } from '@sitesync/postgres';
import { Pool } from 'pg';
import { PG_URL, record } from './bench-central';
import { benchArgs } from './bench-args';

const args = benchArgs();
const QUICK = args.has('quick');
const SITES = Number(args.get('sites') ?? (QUICK ? 100 : 500));
const CENTRALS = Number(args.get('centrals') ?? 1);
const SECONDS = Number(args.get('seconds') ?? (QUICK ? 5 : 10));
const CONCURRENCY = Number(args.get('concurrency') ?? 48);
const RATE = Number(args.get('rate') ?? 200);
const PASSWORD = 'bench cycles password';
const say = (line: string) => process.stdout.write(`${line}\n`);
const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const MAIN = join(__dirname, '..', 'apps', 'central-server', 'dist', 'main.js');

interface SimulatedSite {
  readonly siteId: number;
  readonly gateway: CentralSyncGateway;
  written: number;
  topologyVersion?: string;
  cursor: bigint;
  queueCursor: bigint;
}

/** `sitesync-central serve` on the database, as a child process: its URL, and how to stop it. */
async function serve(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env['NODE_OPTIONS'];
  // BENCH_CPU_PROF=<dir>: each central process writes a CPU profile there when it stops
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_CPU_PROF']] : [];
  // BENCH_REQUIRE=<file>: a module each central process loads first (a query counter, say)
  if (process.env['BENCH_REQUIRE']) profile.push('-r', process.env['BENCH_REQUIRE']);
  const child = spawn(process.execPath, [...profile, MAIN, 'serve', '--port', '0', '--database-url', databaseUrl, '--admin-token', 'bench-cycles'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening on (http:\/\/\S+)/.exec(chunk.toString('utf8'));
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the central exited (${String(code)}) before listening`)));
  });
  return { url, child };
}

/** One gateway per central; each request goes to the next in turn (a round-robin balancer, without its extra hop). */
function spreadGateway(gateways: readonly CentralSyncGateway[]): CentralSyncGateway {
  let next = 0;
  const pick = () => gateways[next++ % gateways.length]!;
  return {
    siteInfo: (options) => pick().siteInfo(options),
    push: (batchId, records, options) => pick().push(batchId, records, options),
    pull: (cursor, limit, options) => pick().pull(cursor, limit, options),
  };
}

async function setUp(databaseUrl: string): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const storage = await openPostgresSyncStorage(pool);
  const sites: SiteInput[] = [{ id: 1, code: 'CENTRAL', name: 'central', roles: ['central', 'primary'] }];
  const stores: StoreInput[] = [];
  for (let i = 1; i <= SITES; i++) {
    sites.push({ id: i + 1, code: `R${i}`, name: `site ${i}` });
    stores.push({ id: `S${i}`, code: `S${i}`, name: `store ${i}`, activeSiteId: i + 1, copies: [{ siteId: 1, type: 'collector' }] });
  }
  // a cheap scrypt cost for the benchmark's sites: each central process checks each password once (the hash keeps its cost)
  const hash = await new ScryptPasswordHasher({ cost: 1024 }).hash(sha256Hex(PASSWORD));
  await storage.run(async (s) => {
    await s.topology.save(orThrow(buildTopology({ sites, stores })));
    for (const site of sites) await s.topology.setPasswordHash(site.id, hash);
  });
  await storage.destroy();
}

/** One remote's cycle on the wire: site info, a push of 5 records, pulls until nothing remains; its duration in ms. */
async function cycle(site: SimulatedSite): Promise<number> {
  const records: SyncRecord[] = Array.from({ length: 5 }, () => record('stock_line', `c-${site.siteId}-${site.written++}`, `S${site.siteId - 1}`));
  const started = process.hrtime.bigint();
  const info = await site.gateway.siteInfo(site.topologyVersion === undefined ? {} : { topologyVersion: site.topologyVersion });
  if (info.topologyVersion !== undefined) site.topologyVersion = info.topologyVersion;
  const pushed = await site.gateway.push(randomUUID(), records);
  if (!('accepted' in pushed) || pushed.accepted !== 5) throw new Error(`push of site ${site.siteId}: ${JSON.stringify(pushed)}`);
  for (;;) {
    const page = await site.gateway.pull(site.cursor, 500, { queueCursor: site.queueCursor, unpushed: 0 });
    site.cursor = page.nextCursor;
    if (page.nextQueueCursor !== undefined) site.queueCursor = page.nextQueueCursor;
    if (page.remaining === 0) break;
  }
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** As many cycles as `concurrency` workers make in `seconds`, each on the next site no other worker has. */
async function saturation(sites: SimulatedSite[]): Promise<{ cycles: number; seconds: number; durations: number[] }> {
  const durations: number[] = [];
  const busy = new Set<SimulatedSite>();
  let next = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, sites.length) }, async () => {
      while (Date.now() < until) {
        let site = sites[next++ % sites.length]!;
        while (busy.has(site)) site = sites[next++ % sites.length]!;
        busy.add(site);
        durations.push(await cycle(site));
        busy.delete(site);
      }
    }),
  );
  return { cycles: durations.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, durations };
}

/** Cycles started at RATE per second (each on the next site not in a cycle) for `seconds`. */
async function steady(sites: SimulatedSite[]): Promise<{ started: number; seconds: number; durations: number[]; skipped: number }> {
  const durations: number[] = [];
  const busy = new Set<number>();
  const running: Promise<void>[] = [];
  let skipped = 0;
  let next = 0;
  const total = RATE * SECONDS;
  const t0 = Date.now();
  for (let n = 0; n < total; n++) {
    const due = t0 + (n * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    let site: SimulatedSite | undefined;
    for (let tries = 0; tries < sites.length && !site; tries++) {
      const candidate = sites[next++ % sites.length]!;
      if (!busy.has(candidate.siteId)) site = candidate;
    }
    if (!site) {
      skipped++;
      continue;
    }
    const chosen = site;
    busy.add(chosen.siteId);
    running.push(
      cycle(chosen).then((ms) => {
        durations.push(ms);
        busy.delete(chosen.siteId);
      }),
    );
  }
  await Promise.all(running);
  return { started: total - skipped, seconds: (Date.now() - t0) / 1000, durations, skipped };
}

/** Raw pg, the same concurrency: per cycle, in one transaction, 5 rows by `unnest`, the feed after a cursor, a cursor write. */
async function rawCycles(databaseUrl: string): Promise<{ cycles: number; seconds: number; durations: number[] }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 10 * CENTRALS });
  await pool.query(`create table raw_feed (seq bigserial primary key, type text not null, id text not null, store_id text, data jsonb not null, unique (type, id));
    create table raw_cursor (site_id integer primary key, cursor bigint not null)`);
  const durations: number[] = [];
  let written = 0;
  let next = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, SITES) }, async () => {
      while (Date.now() < until) {
        const siteId = (next++ % SITES) + 2;
        const rows = Array.from({ length: 5 }, () => record('stock_line', `raw-${siteId}-${written++}`, `S${siteId - 1}`));
        const t = process.hrtime.bigint();
        const client = await pool.connect();
        try {
          await client.query('begin');
          await client.query(
            'insert into raw_feed (type, id, store_id, data) select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) on conflict (type, id) do update set data = excluded.data',
            [rows.map((r) => r.type), rows.map((r) => r.id), rows.map((r) => r.storeId ?? null), rows.map((r) => JSON.stringify(r.data))],
          );
          const cursor = (await client.query<{ cursor: string }>('select cursor from raw_cursor where site_id = $1', [siteId])).rows[0]?.cursor ?? '0';
          const feed = await client.query<{ seq: string }>(
            'select seq, type, id, data from raw_feed where seq > $1 and store_id is null order by seq limit 500',
            [cursor],
          );
          const last = feed.rows.at(-1)?.seq ?? cursor;
          await client.query('insert into raw_cursor values ($1, $2) on conflict (site_id) do update set cursor = excluded.cursor', [siteId, last]);
          await client.query('commit');
        } finally {
          client.release();
        }
        durations.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.end();
  return { cycles: durations.length, seconds, durations };
}

async function main(): Promise<void> {
  const schema = `bench_cycles_${process.pid}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = url.toString();
  const centrals: { url: string; child: ChildProcess }[] = [];
  say(`sitesync many-sites benchmark, node ${process.version}: ${SITES} sites, ${CENTRALS} central process(es) on the Postgres server, loopback HTTP`);
  try {
    await setUp(databaseUrl);
    for (let i = 0; i < CENTRALS; i++) centrals.push(await serve(databaseUrl));
    const sites: SimulatedSite[] = Array.from({ length: SITES }, (_, i) => ({
      siteId: i + 2,
      cursor: 0n,
      queueCursor: 0n,
      gateway: spreadGateway(
        centrals.map(
          (c) => new HttpCentralSyncGateway({ baseUrl: c.url, siteName: `site ${i + 1}`, passwordSha256: sha256Hex(PASSWORD), hardwareId: `sim-${i + 1}` }),
        ),
      ),
      written: 0,
    }));
    // a first cycle of each (binds the device, learns the topology, each central checks its password) before measuring
    const warm = Date.now();
    for (let i = 0; i < sites.length; i += 20) await Promise.all(sites.slice(i, i + 20).map((s) => cycle(s)));
    for (let i = 0; i < sites.length; i += 20) await Promise.all(sites.slice(i, i + 20).map((s) => cycle(s)));
    say(`warm-up: two cycles of each site in ${((Date.now() - warm) / 1000).toFixed(1)} s`);

    const sat = await saturation(sites);
    const satRate = sat.cycles / sat.seconds;
    const raw = await rawCycles(databaseUrl);
    const rawRate = raw.cycles / raw.seconds;
    say(
      `saturation (${CONCURRENCY} sites at a time, ${SECONDS} s): ${sat.cycles} cycles = ${satRate.toFixed(0)} cycles/s; cycle p50 ${percentile(sat.durations, 50).toFixed(1)} ms, p99 ${percentile(sat.durations, 99).toFixed(1)} ms`,
    );
    say(
      `raw pg, same concurrency (5-row unnest + feed read + cursor write per cycle): ${rawRate.toFixed(0)} cycles/s, p50 ${percentile(raw.durations, 50).toFixed(1)} ms, p99 ${percentile(raw.durations, 99).toFixed(1)} ms; ratio ${(satRate / rawRate).toFixed(2)}`,
    );
    const st = await steady(sites);
    say(
      `steady ${RATE} cycles/s for ${SECONDS} s: ${st.started} cycles started (${(st.started / st.seconds).toFixed(0)}/s kept${st.skipped > 0 ? `, ${st.skipped} skipped: every site was busy` : ''}); cycle p50 ${percentile(st.durations, 50).toFixed(1)} ms, p99 ${percentile(st.durations, 99).toFixed(1)} ms, max ${Math.max(...st.durations).toFixed(1)} ms`,
    );
  } finally {
    for (const c of centrals) c.child.kill('SIGTERM');
    await Promise.all(centrals.map((c) => new Promise((resolve) => (c.child.exitCode !== null ? resolve(null) : c.child.once('exit', resolve)))));
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
