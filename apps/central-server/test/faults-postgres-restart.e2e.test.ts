import { Writable } from 'node:stream';
import { startCentralServer, type RunningCentral } from '@sitesync/central-server';
import { respondingId, type PushOutcome, type SyncRecord } from '@sitesync/domain';
import { AdminClient, ScryptPasswordHasher, SyncHttpError } from '@sitesync/http';
import type { GatewayFactory } from '@sitesync/remote-site';
import { customerInvoice, recordsOf } from '@sitesync/testkit';
import { Pool } from 'pg';
import { pino } from 'pino';
import { Cluster, PG_URL, wrappedGateway, type Engine } from './cluster';
import { TcpProxy } from './tcp-proxy';

/**
 * The Postgres server "restarted" under a running central: a TCP proxy between the central's pool
 * and the shared server (PG_URL) destroys every connection and refuses (or resets) new ones for a
 * moment, at a chosen query. The shared server itself is never touched.
 */
const describeWithPostgres = PG_URL ? describe : describe.skip;

/** A fresh schema on the shared server: the central reaches it through the proxy, the test directly. */
async function freshSchema(proxy: TcpProxy): Promise<{ proxiedUrl: string; db: Pool; drop(): Promise<void> }> {
  const schema = `sitesync_faults_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`create schema ${schema}`);
  const withSchema = (url: string) => {
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    return u.toString();
  };
  const db = new Pool({ connectionString: withSchema(PG_URL!), max: 2 });
  return {
    proxiedUrl: withSchema(proxy.urlFor(PG_URL!)),
    db,
    async drop() {
      await db.end();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/** What the central holds: rows of a type and id prefix, distinct ids among them, and the change feed's length. */
async function held(db: Pool, type: string, prefix: string): Promise<{ rows: number; distinct: number; feed: number }> {
  const records = await db.query<{ rows: string; distinct: string }>(
    'select count(*) as rows, count(distinct id) as distinct from sync_record where type = $1 and id like $2',
    [type, `${prefix}%`],
  );
  const feed = await db.query<{ last: string }>('select last_seq::text as last from sync_feed_state where id = 1');
  return { rows: Number(records.rows[0]!.rows), distinct: Number(records.rows[0]!.distinct), feed: Number(feed.rows[0]?.last ?? 0) };
}

/** A remote's real HTTP gateway that reports what each push answered and how many records each pull brought. */
function observedGateway(seen: { pushes: (PushOutcome | Error)[]; pulled: number; pulls: number }, beforePull?: (n: number) => void): GatewayFactory {
  return wrappedGateway((real) => ({
    push: async (id, records) => {
      try {
        const answer = await real.push(id, records);
        seen.pushes.push(answer);
        return answer;
      } catch (error) {
        seen.pushes.push(error as Error);
        throw error;
      }
    },
    pull: async (cursor, limit, options) => {
      beforePull?.(++seen.pulls);
      const answer = await real.pull(cursor, limit, options);
      seen.pulled += answer.records.length;
      return answer;
    },
  }));
}

const stockLines = (n: number, prefix: string): SyncRecord[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'stock_line', id: `${prefix}${String(i).padStart(5, '0')}`, storeId: 'A', data: { packs: i } }));

describeWithPostgres('the Postgres server restarted under a running central (through a TCP proxy)', () => {
  let proxy: TcpProxy;
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let running: Cluster | null = null;

  beforeEach(async () => {
    proxy = await TcpProxy.start(PG_URL!);
    schema = await freshSchema(proxy);
  });

  afterEach(async () => {
    await proxy.up(); // the central closes through it
    await running?.stop();
    running = null;
    await proxy.close();
    await schema.drop();
  });

  /** A central on the proxied schema; site 2 has store A active, site 3 a collector copy of it. */
  async function cluster(): Promise<Cluster> {
    const engine: Engine = {
      name: 'Postgres through a proxy',
      database: () => Promise.resolve({ databaseUrl: schema.proxiedUrl, drop: () => Promise.resolve() }),
    };
    const c = (running = await Cluster.start(engine));
    await c.addRemote('Site 2');
    await c.addRemote('Site 3');
    await c.admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
    await c.admin.setCopyType('A', 3, 'collector');
    return c;
  }

  it('during a push, before the records reach the server: the push answers 503, nothing is applied, and the next cycle pushes every record once', async () => {
    const c = await cluster();
    const seen = { pushes: [] as (PushOutcome | Error)[], pulled: 0, pulls: 0 };
    const site2 = await c.open(2, observedGateway(seen));
    const site3 = await c.open(3);
    const records = stockLines(1200, 'sl-push-');
    expect((await site2.putRecords(records)).ok).toBe(true);

    const restarted = proxy.restartWhen({ at: /insert into "?sync_record"?/i, when: 'before', mode: 'refuse' });
    const failure = await site2.sync().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SyncHttpError);
    expect(failure).toMatchObject({ status: 503, message: expect.stringMatching(/cannot reach its database.*Nothing is lost/) });
    await restarted;
    expect(proxy.restarts).toBe(1);
    expect(await held(schema.db, 'stock_line', 'sl-push-')).toEqual({ rows: 0, distinct: 0, feed: 0 });
    expect((await site2.status()).waitingToPush).toBe(1200);

    // the next cycle: the central has reconnected by itself
    const outcome = await site2.sync();
    expect(outcome).toMatchObject({ pushed: 1200, refused: 0 });
    expect(await held(schema.db, 'stock_line', 'sl-push-')).toEqual({ rows: 1200, distinct: 1200, feed: 1200 });
    expect((await site2.status()).waitingToPush).toBe(0);
    expect(seen.pushes.filter((p) => p instanceof SyncHttpError)).toHaveLength(1); // one failed push, then one per batch

    // and every record reaches the collector copy
    await site3.sync();
    expect((await site3.listRecords('stock_line')).map((r) => r.id)).toEqual(records.map((r) => r.id));
  });

  it('during a push, after the server committed it but before the central heard back: the retry is a replay, nothing is doubled', async () => {
    const c = await cluster();
    const seen = { pushes: [] as (PushOutcome | Error)[], pulled: 0, pulls: 0 };
    const site2 = await c.open(2, observedGateway(seen));
    const records = stockLines(1200, 'sl-commit-');
    expect((await site2.putRecords(records)).ok).toBe(true);

    // the first batch's COMMIT reaches the server and runs; its answer is lost in the restart
    const restarted = proxy.restartWhen({ after: /insert into "?sync_record"?/i, at: /^\s*commit\b/i, when: 'after-reply', mode: 'reset' });
    await expect(site2.sync()).rejects.toMatchObject({ status: 503 });
    await restarted;
    const committed = await held(schema.db, 'stock_line', 'sl-commit-');
    expect(committed.rows).toBeGreaterThan(0); // the first batch is stored, although the push failed
    expect(committed.rows).toBeLessThan(1200);

    const outcome = await site2.sync();
    // the interrupted batch is sent again with its id and recognised: answered as before, not applied again
    const answers = seen.pushes.filter((p): p is PushOutcome => !(p instanceof Error));
    expect(answers[0]).toMatchObject({ replayed: true, accepted: committed.rows });
    expect(outcome.pushed).toBe(1200);
    // one feed entry per record: no record was written twice
    expect(await held(schema.db, 'stock_line', 'sl-commit-')).toEqual({ rows: 1200, distinct: 1200, feed: 1200 });

    const collector = { pushes: [] as (PushOutcome | Error)[], pulled: 0, pulls: 0 };
    const site3 = await c.open(3, observedGateway(collector));
    await site3.sync();
    expect(collector.pulled).toBe(1200); // each record sent to the collector once
    expect((await site3.listRecords('stock_line')).map((r) => r.id)).toEqual(records.map((r) => r.id));
  });

  it('while the central completes a pushed transfer: the push is stored and answered, and the transfer is completed once the server is back, without another push', async () => {
    const c = await cluster();
    await c.admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 3 });
    await c.admin.setCopyType('B', 2, 'transfer');
    const site2 = await c.open(2);
    const invoice = recordsOf(customerInvoice({ id: 'ci-A-B-restart', from: 'A', to: 'B', lines: [{ itemId: 'item-1', quantity: 4 }] }));
    expect((await site2.putRecords(invoice)).ok).toBe(true);

    // The push's own transaction does not read consumer cursors; the transfer processing after it does.
    const restarted = proxy.restartWhen({ at: /sync_consumer/i, when: 'before', mode: 'reset' });
    await site2.sync().catch(() => null); // the push is answered; the pull after it may meet the restart
    await restarted;
    expect(await held(schema.db, 'transaction', 'ci-A-B-restart')).toMatchObject({ rows: 1 });
    expect((await site2.status()).waitingToPush).toBe(0);

    const responding = respondingId('ci-A-B-restart', 'stock-transfer');
    const deadline = Date.now() + 10_000;
    while ((await held(schema.db, 'transaction', responding)).rows === 0) {
      if (Date.now() > deadline) throw new Error(`the central never completed the transfer: no ${responding} without another push`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const site3 = await c.open(3);
    await site3.sync();
    expect(await site3.listRecords('transaction')).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: responding, storeId: 'B', data: expect.objectContaining({ kind: 'supplier_invoice' }) })]),
    );
  });

  it('during a pull: the pull answers 503, what was applied stays, and the next cycle brings the rest, each record once', async () => {
    const c = await cluster();
    const items: SyncRecord[] = Array.from({ length: 1500 }, (_, i) => ({ type: 'item', id: `item-${String(i).padStart(5, '0')}`, data: { n: i } }));
    await c.admin.putRecords(items);

    let restarted: Promise<string> | null = null;
    const seen = { pushes: [] as (PushOutcome | Error)[], pulled: 0, pulls: 0 };
    const site3 = await c.open(
      3,
      observedGateway(seen, (n) => {
        // the second pull: the server restarts while the central reads the feed for it
        if (n === 2) restarted = proxy.restartWhen({ at: /from "?sync_record"?/i, when: 'before', mode: 'reset' });
      }),
    );
    await expect(site3.sync()).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/cannot reach its database/) });
    expect(restarted).not.toBeNull();
    await restarted;
    const firstBatch = seen.pulled;
    expect(firstBatch).toBeGreaterThan(0);
    expect(firstBatch).toBeLessThan(1500);
    expect(await site3.listRecords('item')).toHaveLength(firstBatch); // the batch applied before the failure is kept

    const outcome = await site3.sync();
    expect(outcome.pulled).toBe(1500 - firstBatch); // the rest, from where it was: nothing asked for twice
    expect(seen.pulled).toBe(1500);
    expect((await site3.listRecords('item')).map((r) => r.id)).toEqual(items.map((r) => r.id));
  });
});

describeWithPostgres('a central whose Postgres server restarts while it is idle', () => {
  let proxy: TcpProxy;
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let central: RunningCentral | null = null;
  const logs: { level: number; msg: string }[] = [];

  beforeEach(async () => {
    proxy = await TcpProxy.start(PG_URL!);
    schema = await freshSchema(proxy);
    logs.length = 0;
  });

  afterEach(async () => {
    await proxy.up();
    await central?.close();
    central = null;
    await proxy.close();
    await schema.drop();
  });

  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('does not crash when its idle connections die, logs it, answers 503 while the server is down (no hang), and reconnects', async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    central = await startCentralServer({
      port: 0,
      dataDir: ':memory:',
      databaseUrl: schema.proxiedUrl,
      adminToken: 'faults-admin-token',
      logger: pino({ level: 'info' }, sink),
      hasher: new ScryptPasswordHasher({ cost: 1024 }),
    });
    const admin = new AdminClient({ baseUrl: central.url, adminToken: central.adminToken });
    await Promise.all([admin.issues(), admin.issues(), admin.issues()]); // a few pooled connections, now idle
    const open = proxy.open;
    expect(open).toBeGreaterThan(0);

    await proxy.cut('refuse');
    await until(() => logs.some((l) => l.msg.includes('an idle database connection failed')), 'the pool error to be logged');

    // down: a request that needs the database fails at once with a 503 that says what happened
    const started = Date.now();
    await expect(admin.issues()).rejects.toMatchObject({
      status: 503,
      message: expect.stringMatching(/cannot reach its database right now \(connect ECONNREFUSED/),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    const health = await fetch(`${central.url}/health`);
    expect(health.status).toBe(200); // the process is alive

    await proxy.up();
    await expect(admin.issues()).resolves.toEqual([]);
    await expect(admin.putRecords([{ type: 'item', id: 'item-after-restart', data: {} }])).resolves.toEqual({ written: 1 });
    expect((await schema.db.query("select count(*)::int as n from sync_record where id = 'item-after-restart'")).rows[0]).toEqual({ n: 1 });
    expect(logs.filter((l) => l.level >= 50)).toEqual([]); // warnings, no errors: nothing unexpected happened
  });

  it('started while the server is down: fails at once, naming the server and what to check', async () => {
    await proxy.cut('refuse');
    const started = Date.now();
    await expect(
      startCentralServer({ port: 0, dataDir: ':memory:', databaseUrl: schema.proxiedUrl, adminToken: 'faults-admin-token', logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow(
      new RegExp(
        `^Cannot connect to the Postgres server at postgres://postgres@127\\.0\\.0\\.1:${proxy.port}/test\\?options=.* \\(connect ECONNREFUSED .*check --database-url`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
