/**
 * npm run bench:sites [-- --sites 1000 --records 1000000 --calls 100] [-- --quick]
 *
 * The admin site list (`GET /admin/v1/sites`, with each site's `waiting` count) over loopback HTTP,
 * central on the Postgres server at PG_URL (default postgres://postgres@127.0.0.1:5432/test, a fresh
 * schema): S sites with a store each (`--quick`: 100 sites, 50,000 records), N feed records loaded
 * by a raw `generate_series` insert (central data for every site, store data, transfers, patient
 * data), the sites' pull cursors spread over the feed. Prints the first call (the counts built from
 * the whole feed), then p50/p99 of repeated calls with a push and a pull by remote sites between
 * calls, against a raw `select id, doc from sync_site` with pg in the same run; and what one site's
 * `waitingFor` (the per-site feed scan the list used to make for every site) costs.
 */
import { randomUUID } from 'node:crypto';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { CENTRAL_TOKENS } from '@sitesync/central-server';
import { buildTopology, orThrow, waitingFor, type CentralService, type SiteInput, type StoreInput, type SyncRecord } from '@sitesync/domain';
import { Pool } from 'pg';
import { PG_URL, withCentral } from './bench-central';
import { benchArgs } from './bench-args';

const args = benchArgs();
const QUICK = args.has('quick');
const SITES = Number(args.get('sites') ?? (QUICK ? 100 : 1000));
const RECORDS = Number(args.get('records') ?? (QUICK ? 50_000 : 1_000_000));
const CALLS = Number(args.get('calls') ?? (QUICK ? 30 : 100));
const say = (line: string) => process.stdout.write(`${line}\n`);
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

/** Site 1 is the central (and primary); site i+1 runs store Si, which has a transfer copy on the next site; every tenth store is a dispensary. */
function topologyInput(): { sites: SiteInput[]; stores: StoreInput[] } {
  const sites: SiteInput[] = [{ id: 1, code: 'CENTRAL', name: 'central', roles: ['central', 'primary'] }];
  const stores: StoreInput[] = [];
  for (let i = 1; i <= SITES; i++) {
    sites.push({ id: i + 1, code: `R${i}`, name: `remote ${i}` });
    stores.push({
      id: `S${i}`,
      code: `S${i}`,
      name: `store ${i}`,
      activeSiteId: i + 1,
      isDispensary: i % 10 === 0,
      copies: [
        { siteId: 1, type: 'collector' },
        { siteId: (i % SITES) + 2, type: 'transfer' },
      ],
    });
  }
  return { sites, stores };
}

/**
 * The feed, straight into the central's table: of every 100 records, 10 items (central data, to
 * every site), 80 stock lines of store S(k), 8 requisitions from S(k) to the next store (transfers),
 * 2 patients of home store S(k) (20,000 patients); numbered 1..N as the sequencer would.
 */
async function loadFeed(pool: Pool): Promise<void> {
  const chunk = 200_000;
  for (let from = 1; from <= RECORDS; from += chunk) {
    const to = Math.min(RECORDS, from + chunk - 1);
    await pool.query(
      `insert into sync_record (type, id, store_id, other_party_store_id, patient_id, home_store_id, deleted, data, source_site_id, via_sync, seq)
       select case when g % 100 < 10 then 'item' when g % 100 < 90 then 'stock_line' when g % 100 < 98 then 'requisition' else 'patient' end,
              'r' || g,
              case when g % 100 between 10 and 97 then 'S' || (1 + g % $1) end,
              case when g % 100 between 90 and 97 then 'S' || (1 + (g + 1) % $1) end,
              case when g % 100 >= 98 then 'pat-' || (g % 20000) end,
              case when g % 100 >= 98 then 'S' || (1 + g % $1) end,
              false,
              jsonb_build_object('itemId', 'item-' || (g % 997), 'batch', 'B-' || g, 'expiryDate', '2027-06-30', 'packSize', 10, 'availablePacks', g % 500,
                                 'note', 'received from central medical stores, cold chain checked'),
              case when g % 100 < 10 then 1 else 2 + g % $1 end,
              g % 100 >= 10,
              g
       from generate_series($2::bigint, $3::bigint) g`,
      [SITES, from, to],
    );
  }
  await pool.query(`update sync_feed_state set last_seq = $1 where id = 1`, [RECORDS]);
  await pool.query('analyze sync_record');
}

/** Pull cursors spread over the feed: a tenth never pulled, a tenth caught up, the rest anywhere. */
async function spreadCursors(pool: Pool): Promise<void> {
  const keys: string[] = [];
  const values: string[] = [];
  for (let i = 1; i <= SITES; i++) {
    const cursor = i % 10 === 0 ? 0 : i % 10 === 1 ? RECORDS : Math.floor((RECORDS * ((i * 37) % 100)) / 100);
    keys.push(`site-pull:${i + 1}`);
    values.push(JSON.stringify({ cursor: String(cursor), unpushed: 0 }));
  }
  await pool.query(`insert into sync_setting (key, value) select * from unnest($1::text[], $2::text[])`, [keys, values]);
}

async function main(): Promise<void> {
  say(
    `sitesync site list benchmark${QUICK ? ' (--quick)' : ''}: ${SITES.toLocaleString('en')} sites, ${RECORDS.toLocaleString('en')} feed records, node ${process.version}, central on the Postgres server over loopback HTTP`,
  );
  await withCentral('sites', async (central) => {
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=bench_sites_${process.pid}`);
    const pool = new Pool({ connectionString: url.toString(), max: 1 });
    try {
      const service = central.container.get<CentralService>(CENTRAL_TOKENS.Central);
      const setup = process.hrtime.bigint();
      await central.storage.storage.topology.save(orThrow(buildTopology(topologyInput())));
      await loadFeed(pool);
      await spreadCursors(pool);
      say(`setup: topology, ${RECORDS.toLocaleString('en')} records and ${SITES} pull cursors loaded in ${(ms(setup) / 1000).toFixed(1)} s`);

      const list = async (): Promise<{ sites: { id: number; waiting: number | null }[] }> => {
        const res = await fetch(`${central.url}/admin/v1/sites`, { headers: { authorization: `Bearer ${central.adminToken}` } });
        if (res.status !== 200) throw new Error(`GET /admin/v1/sites answered ${res.status}: ${await res.text()}`);
        return (await res.json()) as { sites: { id: number; waiting: number | null }[] };
      };

      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const t0 = process.hrtime.bigint();
      const first = await list();
      const firstMs = ms(t0);
      const total = first.sites.reduce((n, s) => n + (s.waiting ?? 0), 0);
      global.gc?.();
      const heap = process.memoryUsage().heapUsed;
      say(
        `first call (counts built from the whole feed): ${fmt(firstMs)} ms; ${first.sites.length} sites, ${total.toLocaleString('en')} records waiting in all; the counts hold ${((heap - heapBefore) / 1024 / 1024).toFixed(0)} MB of heap`,
      );

      // the same answer as the per-site scan, for a few sites
      for (const siteId of [2, 3, 11, SITES + 1]) {
        const scanned = await central.storage.run(async (s) => waitingFor(s, (await s.topology.load())!, siteId));
        const listed = first.sites.find((s) => s.id === siteId)?.waiting;
        if (listed !== scanned) throw new Error(`site ${siteId}: the list says ${listed} waiting, waitingFor ${scanned}`);
      }
      const scan0 = process.hrtime.bigint();
      await central.storage.run(async (s) => waitingFor(s, (await s.topology.load())!, SITES + 1, 0n));
      const scanMs = ms(scan0);

      // repeated calls, a push and a pull by remote sites between them (10 sites pulling in turn, each
      // on from where its last pull ended), garbage collection pauses noted
      const cursors = new Map<number, bigint>();
      const times: number[] = [];
      const windows: [number, number][] = [];
      const pauses: [number, number][] = [];
      const gc = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
      });
      gc.observe({ entryTypes: ['gc'] });
      for (let call = 0; call < CALLS; call++) {
        const pusher = 2 + ((call * 7) % SITES);
        const records: SyncRecord[] = Array.from({ length: 20 }, (_, k) => ({
          type: 'stock_line',
          id: `pushed-${call}-${k}`,
          storeId: `S${pusher - 1}`,
          data: { itemId: `item-${k}`, availablePacks: k },
        }));
        await service.push(pusher, { id: randomUUID(), digest: randomUUID(), records });
        const puller = 2 + (call % 10);
        const cursor = cursors.get(puller) ?? BigInt(Math.floor((RECORDS * (((puller - 1) * 37) % 100)) / 100));
        const pulled = await service.pull(puller, { cursor, limit: 1000 });
        // the central keeps the cursor a site pulls from; its next pull starts where this one ended
        cursors.set(puller, pulled.nextCursor);
        const t = process.hrtime.bigint();
        const from = performance.now();
        await list();
        times.push(ms(t));
        windows.push([from, performance.now()]);
      }
      const last = await list();
      for (const siteId of [...cursors.keys()].slice(0, 5)) {
        const scanned = await central.storage.run(async (s) => waitingFor(s, (await s.topology.load())!, siteId));
        const listed = last.sites.find((s) => s.id === siteId)?.waiting;
        if (listed !== scanned) throw new Error(`site ${siteId} after pushes and pulls: the list says ${listed} waiting, waitingFor ${scanned}`);
      }

      // raw driver baseline: the site rows alone
      const raw: number[] = [];
      for (let i = 0; i < CALLS; i++) {
        const t = process.hrtime.bigint();
        await pool.query('select id, doc from sync_site');
        raw.push(ms(t));
      }
      gc.disconnect();
      // the garbage collection pauses inside each call (the pulls in this process make most of the garbage)
      const inGc = windows.map(([a, b]) => pauses.reduce((n, [c, d]) => n + Math.max(0, Math.min(b, d) - Math.max(a, c)), 0));
      const slow = times.map((t, i) => [t, inGc[i]!] as const).filter(([t]) => t > 100);
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      const raw50 = percentile(raw, 50);
      say(
        `repeated calls (${CALLS}, a push of 20 records and a pull between calls): p50 ${fmt(p50)} ms, p90 ${fmt(percentile(times, 90))} ms, p99 ${fmt(p99)} ms, max ${fmt(Math.max(...times))} ms`,
      );
      say(
        `calls over 100 ms: ${slow.length}${slow.length > 0 ? ` (${slow.map(([t, g]) => `${fmt(t)} ms, of which ${fmt(g)} ms in garbage collection`).join('; ')})` : ''}; without the garbage collection pauses inside them: p99 ${fmt(
          percentile(
            times.map((t, i) => t - inGc[i]!),
            99,
          ),
        )} ms`,
      );
      say(
        `raw pg \`select id, doc from sync_site\` (${SITES + 1} rows): p50 ${fmt(raw50)} ms, p99 ${fmt(percentile(raw, 99))} ms; ratio (site list p50 / raw p50) ${(p50 / raw50).toFixed(1)}`,
      );
      say(
        `before: one site's waitingFor from cursor 0 (a scan of the feed) ${fmt(scanMs)} ms, so about ${((scanMs * SITES) / 1000).toFixed(0)} s for the ${SITES} sites of one list`,
      );
    } finally {
      await pool.end();
    }
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
