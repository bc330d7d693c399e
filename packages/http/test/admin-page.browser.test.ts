import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import { resolve } from 'node:path';
import { storeRecord } from '@sitesync/testkit';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { adminHeaders, ADMIN_TOKEN, createTestCentral, flagOmsCentral, headersOf, REMOTE1, REMOTE2, siteHeaders, type TestCentral } from './central-test-setup';

/**
 * The admin page (/admin) in a real headless browser: Debian's chromium driven by playwright-core.
 * Set ADMIN_PAGE_SCREENSHOT=docs/admin-page.png to write the documentation's screenshot.
 */
jest.setTimeout(60_000);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DAY_MS = 24 * 60 * 60 * 1000;
const RED = 'rgb(176, 0, 32)';

/**
 * The browser's globals the checks read (the test project has no DOM library types). Functions given
 * to evaluate run in the page: they cast `globalThis` inline, as they cannot close over anything here.
 */
interface BrowserGlobals {
  getComputedStyle(element: unknown): { color: string };
  sessionStorage: { getItem(key: string): string | null };
  hacked?: number;
}

let browser: Browser;
const servers: Server[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

/** A test central listening on an ephemeral port, and the URL of its admin page. */
async function startCentral(): Promise<{ central: TestCentral; pageUrl: string }> {
  const central = await createTestCentral();
  const server = central.app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { central, pageUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin` };
}

/** A remote site syncs: it pulls until nothing remains (the central then records its last sync). */
async function syncs(central: TestCentral, siteId: number): Promise<void> {
  let cursor = '0';
  for (let page = 0; page < 100; page++) {
    const res = await request(central.app).post('/sync/v1/pull').set(headersOf(siteId)).send({ cursor, limit: 1000 }).expect(200);
    cursor = res.body.nextCursor;
    if (res.body.remaining === 0) return;
  }
  throw new Error(`site ${siteId} did not finish pulling`);
}

/** REMOTE1 pushes a stock line of store C, which is active on REMOTE2: refused and kept as an issue. */
async function refusedPush(central: TestCentral): Promise<string> {
  const record = storeRecord('stock_line', 'C', { quantity: 7 }, 'sl-c-1');
  const res = await request(central.app)
    .post('/sync/v1/push')
    .set(headersOf(REMOTE1))
    .send({ batchId: 'b-1', records: [record] })
    .expect(200);
  expect(res.body.refused).toEqual([expect.objectContaining({ recordId: 'sl-c-1', code: 'edit.store-not-active-here' })]);
  return `quarantine:${REMOTE1}:stock_line:sl-c-1`;
}

async function openPage(pageUrl: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto(pageUrl);
  return page;
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#login-button');
  await page.locator('#sites-body tr[data-site-id]').first().waitFor();
  await page.locator('#issues-body table, #issues-body .empty').first().waitFor();
}

const siteRow = (page: Page, siteId: number) => page.locator(`#sites-body tr[data-site-id="${siteId}"]`);
const issueRow = (page: Page, key: string) => page.locator(`#issues-body tr[data-issue-key="${key}"]`);
const colourOf = (page: Page, siteId: number) =>
  siteRow(page, siteId)
    .locator('td')
    .first()
    .evaluate((cell) => (globalThis as unknown as BrowserGlobals).getComputedStyle(cell).color);
const editButtons = (page: Page) => page.locator('button[data-action]');

describe('the admin page in a browser', () => {
  it('an admin logs in (a wrong token is refused with the API message); the central is named in its bar; a site not synced for 31 days is red', async () => {
    const { central, pageUrl } = await startCentral();
    await syncs(central, REMOTE1);
    central.clock.advance(31 * DAY_MS);
    await syncs(central, REMOTE2);
    const hostile = '<img src=x onerror="window.hacked=1">Clinic & "Co"';
    await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: hostile, password: 'pw' }).expect(201);
    await flagOmsCentral(central, 'https://oms.example.org:8090');

    const page = await openPage(pageUrl);
    expect(page.url()).toMatch(/\/admin\/$/);
    await page.fill('#token', 'not-the-token');
    await page.click('#login-button');
    await page.locator('#message', { hasText: 'Wrong or missing admin token' }).waitFor();
    expect(await page.isVisible('#app')).toBe(false);

    await logIn(page, ADMIN_TOKEN);
    expect(await page.textContent('#central-name')).toBe('mSupply central server \u2014 Sync server');
    expect(await page.textContent('#whoami')).toContain('admin');

    expect(await siteRow(page, REMOTE1).getAttribute('class')).toContain('stale');
    expect(await colourOf(page, REMOTE1)).toBe(RED);
    expect(await siteRow(page, REMOTE1).textContent()).toContain('stale');
    expect(await siteRow(page, REMOTE1).textContent()).toContain('2026-01-01 00:00 UTC');
    expect(await siteRow(page, REMOTE2).getAttribute('class')).toBeNull();
    expect(await colourOf(page, REMOTE2)).not.toBe(RED);
    // the Open mSupply central server is named, with the URL remotes are told (seed 000)
    expect(await siteRow(page, REMOTE2).locator('.oms-central').textContent()).toBe('Open mSupply central server at https://oms.example.org:8090');
    expect(await siteRow(page, REMOTE1).locator('.oms-central').count()).toBe(0);
    // stores active on the stale site are stale too (B and F run on REMOTE1)
    expect(await page.locator('#stores-body tr.stale').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-store-id')))).toEqual(['B', 'F']);

    // a name is shown as text, never run as markup
    const hostileRow = page.locator('#sites-body tr', { hasText: 'Clinic & "Co"' });
    expect(await hostileRow.locator('.site-name').textContent()).toBe(hostile);
    expect(await page.locator('#sites-body img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).hacked)).toBeUndefined();
    expect(await hostileRow.getAttribute('class')).toContain('stale');
  });

  it('an admin retries a refused record: still refused with the reason while the cause stands, then stored and gone from the log once the store is moved to its site', async () => {
    const { central, pageUrl } = await startCentral();
    const key = await refusedPush(central);
    await syncs(central, REMOTE1);
    central.clock.advance(31 * DAY_MS);
    await syncs(central, REMOTE2);

    const page = await openPage(pageUrl);
    await logIn(page, ADMIN_TOKEN);
    const row = issueRow(page, key);
    expect(await row.textContent()).toContain('edit.store-not-active-here');
    expect(await row.textContent()).toContain('stock_line sl-c-1, store C, pushed by Remote site 1 (#2)');
    const screenshot = process.env['ADMIN_PAGE_SCREENSHOT'];
    if (screenshot) await page.screenshot({ path: resolve(screenshot), fullPage: true });

    await row.getByRole('button', { name: 'Retry' }).click();
    await page.locator('#message.error', { hasText: 'still refused' }).waitFor();
    expect(await page.textContent('#message')).toContain('Fix:');
    expect(await row.count()).toBe(1);
    expect(await central.storage.storage.records.get('stock_line', 'sl-c-1')).toBeNull();

    // the cause fixed: store C now runs on the site that sent the record
    await request(central.app).post('/admin/v1/stores/C/move').set(adminHeaders).send({ toSiteId: REMOTE1, oldSiteCopy: 'transfer', force: true }).expect(200);
    await row.getByRole('button', { name: 'Retry' }).click();
    await page.locator('#message.success', { hasText: 'resolved' }).waitFor();
    await row.waitFor({ state: 'detached' });
    expect(await central.storage.storage.records.get('stock_line', 'sl-c-1')).toMatchObject({ storeId: 'C', data: { quantity: 7 } });
  });

  it('an admin acknowledges an issue: it leaves "Needing attention" and is listed under "Acknowledged" with who acknowledged it', async () => {
    const { central, pageUrl } = await startCentral();
    const key = await refusedPush(central);
    const page = await openPage(pageUrl);
    await logIn(page, ADMIN_TOKEN);
    await issueRow(page, key).getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('#message.success', { hasText: 'acknowledged' }).waitFor();
    await issueRow(page, key).waitFor({ state: 'detached' });
    await page.selectOption('#issues-acknowledged', 'true');
    await page.click('#issues-filter button[type=submit]');
    await issueRow(page, key).waitFor();
    expect(await issueRow(page, key).textContent()).toContain('by startup');
    expect(await issueRow(page, key).getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
  });

  it('Explain on an issue row shows the rule id, the fix and every site\u2019s decision with its rule and reason; Explain again hides it', async () => {
    const { central, pageUrl } = await startCentral();
    const key = await refusedPush(central);
    const page = await openPage(pageUrl);
    await logIn(page, ADMIN_TOKEN);
    const button = issueRow(page, key).locator('button.explain-button');
    expect(await button.textContent()).toBe('Explain');
    await button.click();
    const panel = page.locator(`#issues-body tr.explain-row[data-explain-for="${key}"]`);
    await panel.waitFor();
    // the refused push: its site, the rule id (and code), the fix, who may send it
    expect(await panel.locator('.explain-facts').textContent()).toContain('stock_line sl-c-1 pushed by Remote site 1 (#2)');
    expect(await panel.locator('.explain-facts .rule-id').first().textContent()).toBe('store-on-active-site');
    expect(await panel.textContent()).toContain('(edit.store-not-active-here)');
    expect(await panel.locator('dt', { hasText: 'Fix' }).count()).toBe(1);
    expect(await panel.textContent()).toContain('Make this change on site 3 "Remote site 2"');
    expect(await panel.textContent()).toContain('May send itRemote site 2 (#3)');
    // every site's decision about the record, each with its rule id and reason
    const decisions = panel.locator('.explain-decisions tr[data-decision-site]');
    expect(await decisions.count()).toBe((await central.topology()).sites.length);
    const activeSite = panel.locator('.explain-decisions tr[data-decision-site="3"]');
    expect(await activeSite.locator('.rule-id').allTextContents()).toEqual(['store-to-active-site', 'store-on-active-site']);
    expect(await activeSite.textContent()).toContain('may edit');
    expect(await button.getAttribute('aria-expanded')).toBe('true');

    await page.getByRole('button', { name: 'Hide explanation' }).click();
    await panel.waitFor({ state: 'detached' });
    expect(await issueRow(page, key).getByRole('button', { name: 'Explain' }).count()).toBe(1);
  });

  it('a view-only login sees the blocked site and the refused record, and may Explain it, but has no Unblock, Retry or Acknowledge button (an admin sees them); logging out forgets the token', async () => {
    const { central, pageUrl } = await startCentral();
    const key = await refusedPush(central);
    for (let i = 0; i < 5; i++) await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 2', 'wrong')).expect(401);
    expect((await central.topology()).site(REMOTE2)).toMatchObject({ blocked: true });
    const viewer = await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'auditor' }).expect(201);

    const page = await openPage(pageUrl);
    await logIn(page, ADMIN_TOKEN);
    expect(await siteRow(page, REMOTE2).getByRole('button', { name: 'Unblock' }).count()).toBe(1);
    expect(await issueRow(page, key).getByRole('button', { name: 'Retry' }).count()).toBe(1);
    expect(await issueRow(page, key).getByRole('button', { name: 'Acknowledge' }).count()).toBe(1);
    await page.click('#logout');
    await page.locator('#login').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('sitesync.adminToken'))).toBeNull();

    await logIn(page, viewer.body.token as string);
    await issueRow(page, key).waitFor();
    expect(await page.textContent('#whoami')).toContain('view only');
    expect(await siteRow(page, REMOTE2).textContent()).toContain('blocked');
    expect(await issueRow(page, key).textContent()).toContain('edit.store-not-active-here');
    expect(await editButtons(page).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Unblock|Retry|Acknowledge)$/ }).count()).toBe(0);
    expect(await page.locator('#sites-body th', { hasText: 'Actions' }).count()).toBe(0);
    // Explain is a read: a view-only login has it, and it shows the rule
    await issueRow(page, key).getByRole('button', { name: 'Explain' }).click();
    await page.locator('#issues-body tr.explain-row .rule-id', { hasText: 'store-on-active-site' }).first().waitFor();
  });
});
