import { changeGoesTo, decodeRecord, PullServer, type SyncRecord, type SyncStorage } from '@sitesync/domain';
import { centralRecord, createInMemoryStorage, seedExampleTopology, storeRecord } from '@sitesync/testkit';
import fc from 'fast-check';

/**
 * A site most of whose feed goes elsewhere has its pages scanned without data and only its own
 * records read with theirs (PullServer's sparse pages): the answer must be exactly what reading the
 * pages with their data gives, whatever the mix, the rewrites between pulls and the page limits.
 */
const SITE = 2; // remote 1: gets central data (items), not the stock lines of store D (site 3)

async function pullAll(server: PullServer, storage: SyncStorage, from: bigint, limit: number): Promise<{ records: SyncRecord[]; cursor: bigint }> {
  const topology = seedExampleTopology();
  const records: SyncRecord[] = [];
  let cursor = from;
  for (let i = 0; i < 1000; i++) {
    const page = await server.pullEncoded(storage, async () => topology, SITE, { cursor, limit });
    records.push(...page.records.map(decodeRecord));
    cursor = page.nextCursor;
    if (page.remaining === 0) return { records, cursor };
  }
  throw new Error('the pull never caught up');
}

/** What goes to the site, read straight from the feed (latest versions after `from`). */
async function expected(storage: SyncStorage, from: bigint): Promise<SyncRecord[]> {
  const topology = seedExampleTopology();
  return (await storage.changes.read(from, 1_000_000)).filter((c) => changeGoesTo(topology, SITE, c)).map((c) => c.record);
}

const byKey = (records: readonly SyncRecord[]) => new Map(records.map((r) => [`${r.type}:${r.id}`, r]));

describe('PullServer: sparse pages give the same answer as pages read with their data', () => {
  it('over random feeds of store data for another site with items among them, rewrites between pulls and small limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ item: fc.boolean(), n: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 30 }),
        async (rounds, limit) => {
          const storage = createInMemoryStorage().storage;
          await storage.topology.save(seedExampleTopology());
          const server = new PullServer(5_000);
          let cursor = 0n;
          const held = new Map<string, SyncRecord>();
          for (const [round, { item, n }] of rounds.entries()) {
            // 250 stock lines of store D (for site 3), a few items (for every site) among them, and some rewritten
            const batch: SyncRecord[] = [];
            for (let i = 0; i < 250; i++) batch.push(storeRecord('stock_line', 'D', { round, i }, `sl-${round}-${i}`));
            for (let i = 0; i < n; i++) batch.splice((i * 37) % batch.length, 0, centralRecord('item', { round, i }, `item-${i % 25}`));
            if (item) batch.push(centralRecord('item', { round, rewritten: true }, 'item-0'));
            for (const record of batch) await storage.records.upsert([record], { sourceSiteId: 1, viaSync: false });
            const want = await expected(storage, cursor);
            const got = await pullAll(server, storage, cursor, limit);
            for (const r of got.records) held.set(`${r.type}:${r.id}`, r);
            cursor = got.cursor;
            // every record that goes to the site, in its latest version, and nothing else
            expect([...byKey(got.records).keys()].sort()).toEqual([...byKey(want).keys()].sort());
            for (const w of want) expect(held.get(`${w.type}:${w.id}`)).toEqual(w);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
