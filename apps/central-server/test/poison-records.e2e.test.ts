import { gzipSync } from 'node:zlib';
import type { SyncRecord } from '@sitesync/domain';
import { HEADERS, sha256Hex, SYNC_API_VERSION } from '@sitesync/http';
import { Cluster, ENGINES } from './cluster';

const stock = (id: string, data: Record<string, unknown> = { packs: 1 }): SyncRecord => ({ type: 'stock_line', id, storeId: 'A', data });

/** `depth` nested arrays, as JSON text (JSON.stringify itself overflows the stack at such depths). */
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * Records the central cannot store for their own content (Postgres jsonb refuses \u0000; thousands
 * of levels overflow the stack) are refused one by one, kept with their error on both sides, and
 * never hold up the rest of their batch, later batches or pulls.
 */
describe.each(ENGINES)('poison records with the central on $name', (engine) => {
  let c: Cluster;
  let site: number;

  beforeAll(async () => {
    c = await Cluster.start(engine);
    site = await c.addRemote('District');
    await c.admin.addStore({ code: 'A', name: 'Store A', activeSiteId: site });
    await c.open(site);
  }, 60_000);

  afterAll(() => c.stop());

  /** A push sent by hand (curl-like): the body as text, so that it can hold what JSON.stringify cannot make. */
  const rawPush = (body: string, gzip = false, as = { name: 'District', siteId: site }) =>
    fetch(`${c.central.url}/sync/v1/push`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${as.name}:${sha256Hex(`${as.name}-password`)}`).toString('base64')}`,
        [HEADERS.hardwareId]: `device-${as.siteId}`,
        [HEADERS.apiVersion]: String(SYNC_API_VERSION),
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      body: gzip ? gzipSync(body) : body,
    });

  it('a hostile batch: each poison record is refused for itself with its limit, the good ones are stored', async () => {
    const records = [
      JSON.stringify(stock('good-1')),
      JSON.stringify(stock('nul-1', { note: 'before\u0000after' })),
      JSON.stringify(stock('surrogate-1', { note: 'lone \ud800 half' })),
      `{"type":"stock_line","id":"deep-1","storeId":"A","data":{"x":${nested(5000)}}}`,
      '{"type":"stock_line","id":"proto-1","storeId":"A","data":{"__proto__":{"packs":999},"packs":1}}',
      JSON.stringify(stock('long-1', { note: 'x'.repeat(1_000_001) })),
      JSON.stringify(stock('good-2')),
    ];
    const response = await rawPush(`{"batchId":"by-hand:poison","records":[${records.join(',')}]}`, true);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { accepted: number; refused: { recordId: string; code: string; message: string }[] };
    expect(answer.accepted).toBe(2);
    expect(answer.refused.map((r) => [r.recordId, r.code])).toEqual([
      ['nul-1', 'record.invalid-text'],
      ['surrogate-1', 'record.invalid-text'],
      ['deep-1', 'record.too-deep'],
      ['proto-1', 'record.reserved-key'],
      ['long-1', 'record.string-too-long'],
    ]);
    expect(answer.refused[2]!.message).toMatch(/nested deeper than 32 levels/);
    for (const id of ['good-1', 'good-2']) expect(await c.has(1, 'stock_line', id)).toBe(true);
    for (const id of ['nul-1', 'surrogate-1', 'deep-1', 'proto-1', 'long-1']) expect(await c.has(1, 'stock_line', id)).toBe(false);
    const keys = (await c.admin.issues()).map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining([`quarantine:${site}:stock_line:nul-1`, `quarantine:${site}:stock_line:deep-1`]));

    // the next batch goes through
    const next = await rawPush(JSON.stringify({ batchId: 'by-hand:after', records: [stock('good-3')] }));
    expect(next.status).toBe(200);
    expect(await c.has(1, 'stock_line', 'good-3')).toBe(true);
  });

  it("a poison record in a site's own database is refused alone: kept in the site's status, the rest pushed, pulls go on", async () => {
    await c.admin.putRecords([{ type: 'item', id: 'item-after-poison', data: { name: 'BCG vaccine' } }]);
    // written around the local checks, as a corrupted database or an older app version would
    await c.storageOf(site).storage.records.upsert([stock('local-nul', { note: 'a\u0000b' }), stock('local-good')], { sourceSiteId: site, viaSync: false });

    const outcome = await c.site(site).sync();
    expect(outcome).toMatchObject({ pushed: 1, refused: 1 });
    expect(await c.has(1, 'stock_line', 'local-good')).toBe(true);
    expect(await c.has(site, 'item', 'item-after-poison')).toBe(true);
    const status = await c.site(site).status();
    expect(status.failed).toEqual([
      expect.objectContaining({ key: 'refused:stock_line:local-nul', violation: expect.objectContaining({ code: 'record.invalid-text' }) }),
    ]);
    expect(status.waitingToPush).toBe(0);

    // fixed on the site: accepted, and the issue is over on both sides
    expect((await c.site(site).putRecords([stock('local-nul', { note: 'ab' })])).ok).toBe(true);
    expect(await c.site(site).sync()).toMatchObject({ pushed: 1, refused: 0 });
    expect((await c.site(site).status()).failed).toEqual([]);
    expect((await c.admin.issues()).map((i) => i.key)).not.toContain(`quarantine:${site}:stock_line:local-nul`);
  });

  it('a pulled record the site cannot store is kept with its error, the rest of the pull is applied, a corrected version replaces it', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { deeper: deep };
    // a record the central holds but that breaks the limits (written before they existed, or by hand)
    await c.central.storage.storage.records.upsert(
      [
        { type: 'item', id: 'item-too-deep', data: { deep } },
        { type: 'item', id: 'item-fine', data: { name: 'Measles vaccine' } },
      ],
      { sourceSiteId: 1, viaSync: false },
    );
    expect(await c.site(site).sync()).toMatchObject({ pullFailures: 1 });
    expect(await c.has(site, 'item', 'item-fine')).toBe(true);
    expect(await c.has(site, 'item', 'item-too-deep')).toBe(false);
    const status = await c.site(site).status();
    expect(status.pullFailures).toBe(1);
    expect(status.failed).toEqual([
      expect.objectContaining({ key: 'pulled:item:item-too-deep', violation: expect.objectContaining({ code: 'record.too-deep' }) }),
    ]);
    expect((await c.storageOf(site).storage.inbound.failures()).map((f) => f.record.id)).toEqual(['item-too-deep']);

    await c.admin.putRecords([{ type: 'item', id: 'item-too-deep', data: { name: 'Yellow fever vaccine' } }]);
    expect(await c.site(site).sync()).toMatchObject({ pullFailures: 0 });
    expect(await c.has(site, 'item', 'item-too-deep')).toBe(true);
    expect((await c.site(site).status()).failed).toEqual([]);
    expect(await c.storageOf(site).storage.inbound.failures()).toEqual([]);
  });

  it('store data of a store with only a transfer copy on the central is refused with the rule, not kept', async () => {
    const other = await c.addRemote('Facility');
    await c.admin.addStore({ code: 'F', name: 'Store F', activeSiteId: other, centralCopy: 'transfer' });
    await c.open(other);
    await c.storageOf(other).storage.records.upsert([{ type: 'stock_line', id: 'sl-F-1', storeId: 'F', data: { packs: 2 } }], {
      sourceSiteId: other,
      viaSync: false,
    });
    // pushed by hand: the site itself never sends it
    const response = await rawPush(
      JSON.stringify({ batchId: 'by-hand:F', records: [{ type: 'stock_line', id: 'sl-F-1', storeId: 'F', data: { packs: 2 } }] }),
      false,
      { name: 'Facility', siteId: other },
    );
    const answer = (await response.json()) as { accepted: number; refused: { code: string; message: string }[] };
    expect(answer).toMatchObject({ accepted: 0, refused: [{ code: 'push.not-kept-on-central' }] });
    expect(answer.refused[0]!.message).toMatch(/Store F/);
    expect(await c.has(1, 'stock_line', 'sl-F-1')).toBe(false);
    expect(await c.site(other).sync()).toMatchObject({ pushed: 0, refused: 0 });
  });
});
