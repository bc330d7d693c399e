import type { SyncRecord } from '@sitesync/domain';
import { centralRecord, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { errorBodySchema, issuedTokenSchema, pullResponseSchema, pushResponseSchema } from '../src/index';
import { adminHeaders, createTestCentral, headersOf, REMOTE1, REMOTE2, type TestCentral } from './central-test-setup';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function samplesOf(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function scrape(central: TestCentral): Promise<{ text: string; samples: Sample[] }> {
  const res = await request(central.app).get('/metrics').set(adminHeaders);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return { text: res.text, samples: samplesOf(res.text) };
}

async function push(central: TestCentral, siteId: number, batchId: string, records: readonly SyncRecord[], more?: boolean) {
  const res = await request(central.app)
    .post('/sync/v1/push')
    .set(headersOf(siteId))
    .send({ batchId, records, ...(more === true ? { more } : {}) });
  expect(res.status).toBe(200);
  return pushResponseSchema.parse(res.body);
}

async function pull(central: TestCentral, siteId: number, cursor = '0', limit = 100) {
  const res = await request(central.app).post('/sync/v1/pull').set(headersOf(siteId)).send({ cursor, limit });
  expect(res.status).toBe(200);
  return pullResponseSchema.parse(res.body);
}

describe('central metrics: GET /metrics', () => {
  it('counts a site cycle: pushes and records by outcome (a replay not counted twice), pulls and records pulled, the cycle duration', async () => {
    const central = await createTestCentral();
    const items = [centralRecord('item', { name: 'Amoxicillin' }, 'item-amox'), centralRecord('item', { name: 'BCG' }, 'item-bcg')];
    expect((await request(central.app).post('/admin/v1/records').set(adminHeaders).send({ records: items })).status).toBe(200);

    expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1))).status).toBe(200);
    // store B is active on remote 1; store C is not, and a log record is local data: 3 accepted, 2 refused
    const records = [
      storeRecord('stock_line', 'B', {}, 'sl-1'),
      storeRecord('stock_line', 'B', {}, 'sl-2'),
      storeRecord('stock_line', 'B', {}, 'sl-3'),
      storeRecord('stock_line', 'C', {}, 'sl-c'),
      centralRecord('log', { text: 'local' }, 'log-1'),
    ];
    const pushed = await push(central, REMOTE1, 'batch-1', records);
    expect({ accepted: pushed.accepted, refused: pushed.refused.length }).toEqual({ accepted: 3, refused: 2 });
    expect((await push(central, REMOTE1, 'batch-1', records)).replayed).toBe(true);
    const page = await pull(central, REMOTE1, '0', 1);
    const last = await pull(central, REMOTE1, page.nextCursor);
    expect(page.records.length + last.records.length).toBe(2);
    expect(last.remaining).toBe(0);

    const { samples } = await scrape(central);
    const site_id = String(REMOTE1);
    expect(valueOf(samples, 'sitesync_pushes_total', { site_id })).toBe(2);
    expect(valueOf(samples, 'sitesync_records_pushed_total', { site_id, outcome: 'accepted' })).toBe(3);
    expect(valueOf(samples, 'sitesync_records_pushed_total', { site_id, outcome: 'refused' })).toBe(2);
    expect(valueOf(samples, 'sitesync_pulls_total', { site_id })).toBe(2);
    expect(valueOf(samples, 'sitesync_records_pulled_total', { site_id })).toBe(2);
    expect(valueOf(samples, 'sitesync_sync_cycle_duration_seconds_count', { site_id })).toBe(1);
    // nothing counted for a site that did not sync
    expect(valueOf(samples, 'sitesync_pushes_total', { site_id: String(REMOTE2) })).toBeUndefined();
  });

  it('times requests by route template, never the URL (an error thrown inside a route included), and counts error answers by code', async () => {
    const central = await createTestCentral();
    await push(central, REMOTE1, 'batch-1', [storeRecord('stock_line', 'B', {}, 'sl-1')]);
    const missing = await request(central.app).patch('/admin/v1/sites/987654').set(adminHeaders).send({ code: 'X' });
    expect(missing.status).toBe(404);
    expect(errorBodySchema.parse(missing.body).error.code).toBe('not_found');
    expect((await request(central.app).get('/no/such/path/123456')).status).toBe(404);

    const { text, samples } = await scrape(central);
    const duration = 'sitesync_http_request_duration_seconds_count';
    expect(valueOf(samples, duration, { method: 'POST', route: '/sync/v1/push', status: '200' })).toBe(1);
    expect(valueOf(samples, duration, { method: 'PATCH', route: '/admin/v1/sites/:id', status: '404' })).toBe(1);
    expect(valueOf(samples, duration, { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toContain('987654');
    expect(text).not.toContain('123456');
    expect(valueOf(samples, 'sitesync_error_answers_total', { code: 'not_found' })).toBe(2);
  });

  it('shows the records waiting for each site, read at scrape time', async () => {
    const central = await createTestCentral();
    const write = async (ids: readonly string[]) =>
      expect(
        (
          await request(central.app)
            .post('/admin/v1/records')
            .set(adminHeaders)
            .send({ records: ids.map((id) => centralRecord('item', { name: id }, id)) })
        ).status,
      ).toBe(200);
    await write(['item-1', 'item-2', 'item-3']);
    // remote 1 pulls all three, then (its next cycle) from where it got to; remote 2 pulls nothing
    const first = await pull(central, REMOTE1);
    expect(first.records).toHaveLength(3);
    expect((await pull(central, REMOTE1, first.nextCursor)).records).toEqual([]);
    await write(['item-4', 'item-5']);

    const { samples } = await scrape(central);
    expect(valueOf(samples, 'sitesync_records_waiting', { site_id: String(REMOTE1) })).toBe(2);
    expect(valueOf(samples, 'sitesync_records_waiting', { site_id: String(REMOTE2) })).toBe(5);
    // what the admin API lists as waiting
    const sites = (await request(central.app).get('/admin/v1/sites').set(adminHeaders)).body as { sites: { id: number; waiting: number | null }[] };
    expect(sites.sites.filter((s) => s.waiting !== null).map((s) => [s.id, s.waiting])).toEqual(
      [...samples.filter((s) => s.name === 'sitesync_records_waiting')].map((s) => [Number(s.labels['site_id']), s.value]),
    );
  });

  it("records the processor lag: a push that says more follows is processed at the site's pull, that long after it", async () => {
    const central = await createTestCentral();
    await push(central, REMOTE1, 'batch-1', [storeRecord('transaction', 'B', {}, 'tx-1')], true);
    central.clock.advance(250);
    await pull(central, REMOTE1);

    const { samples } = await scrape(central);
    expect(valueOf(samples, 'sitesync_processing_lag_seconds_count', { reason: 'push' })).toBe(1);
    expect(valueOf(samples, 'sitesync_processing_lag_seconds_sum', { reason: 'push' })).toBe(0.25);
    expect(valueOf(samples, 'sitesync_processing_failures_total')).toBe(0);
  });

  it('needs an admin API token: 401 without one, 200 with a view-only one', async () => {
    const central = await createTestCentral();
    const refused = await request(central.app).get('/metrics');
    expect(refused.status).toBe(401);
    expect(errorBodySchema.parse(refused.body).error.code).toBe('admin_auth_failed');
    expect(refused.text).not.toContain('sitesync_');

    const issued = await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'prometheus' });
    const viewer = issuedTokenSchema.parse(issued.body);
    const res = await request(central.app)
      .get('/metrics')
      .set({ authorization: `Bearer ${viewer.token}` });
    expect(res.status).toBe(200);
    expect(res.text).toContain('# TYPE sitesync_pushes_total counter');
  });

  it('keeps each app its own registry: two apps in one process count apart', async () => {
    const first = await createTestCentral();
    const second = await createTestCentral();
    await push(first, REMOTE1, 'batch-1', [storeRecord('stock_line', 'B', {}, 'sl-1')]);
    expect(valueOf((await scrape(first)).samples, 'sitesync_pushes_total', { site_id: String(REMOTE1) })).toBe(1);
    expect(valueOf((await scrape(second)).samples, 'sitesync_pushes_total', { site_id: String(REMOTE1) })).toBeUndefined();
  });
});
