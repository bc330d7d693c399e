import request from 'supertest';
import { type SiteId, type Topology } from '@sitesync/domain';
import { createInMemoryStorage, ManualClock, SEED_SITES, seedExampleTopology, type InMemoryStorage } from '@sitesync/testkit';
import type express from 'express';
import { createCentralApp, HEADERS, ScryptPasswordHasher, sha256Hex, SYNC_API_VERSION, type CentralAppDeps } from '../src/index';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A low scrypt cost: tests only. */
export const testHasher = new ScryptPasswordHasher({ cost: 1024 });

export const passwordOf = (siteId: SiteId): string => `password of site ${siteId}`;

export const { syncServer: CENTRAL, remote1: REMOTE1, remote2: REMOTE2 } = SEED_SITES;

export interface TestCentral {
  readonly app: express.Express;
  readonly storage: InMemoryStorage;
  readonly clock: ManualClock;
  readonly logger: { info: jest.Mock; warn: jest.Mock; error: jest.Mock };
  topology(): Promise<Topology>;
}

/** Seed 002's example topology on an in-memory central, every site with the password `passwordOf(id)`. */
export async function createTestCentral(overrides: Partial<CentralAppDeps> = {}, options: { readonly initialised?: boolean } = {}): Promise<TestCentral> {
  const storage = createInMemoryStorage();
  if (options.initialised !== false) {
    const topology = seedExampleTopology();
    await storage.storage.topology.save(topology);
    for (const site of topology.sites) await storage.storage.topology.setPasswordHash(site.id, await testHasher.hash(sha256Hex(passwordOf(site.id))));
  }
  const clock = new ManualClock();
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const app = createCentralApp({ storage, hasher: testHasher, clock, adminToken: ADMIN_TOKEN, logger, ...overrides });
  return {
    app,
    storage,
    clock,
    logger,
    topology: async () => (await storage.storage.topology.load())!,
  };
}

/** The headers a remote site sends: Basic auth with the SHA-256 hex of its password, hardware id, API version. */
export function siteHeaders(
  name: string,
  password: string,
  options: { readonly hardwareId?: string; readonly apiVersion?: string | null } = {},
): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Basic ${Buffer.from(`${name}:${sha256Hex(password)}`).toString('base64')}`,
    [HEADERS.hardwareId]: options.hardwareId ?? 'hw-1',
    [HEADERS.appName]: 'test-app',
    [HEADERS.appVersion]: '1.2.3',
  };
  if (options.apiVersion !== null) headers[HEADERS.apiVersion] = options.apiVersion ?? String(SYNC_API_VERSION);
  return headers;
}

export const SITE_NAMES: Record<number, string> = { [CENTRAL]: 'Sync server', [REMOTE1]: 'Remote site 1', [REMOTE2]: 'Remote site 2' };

export function headersOf(siteId: SiteId, options: { readonly hardwareId?: string } = {}): Record<string, string> {
  return siteHeaders(SITE_NAMES[siteId]!, passwordOf(siteId), options);
}

export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Flags site 3 ("Remote site 2") as the Open mSupply central server, its stores C and D first made dispensaries (as every store on it must be). */
export async function flagOmsCentral(central: TestCentral, url = 'https://oms.example.org'): Promise<void> {
  for (const store of ['C', 'D']) await request(central.app).patch(`/admin/v1/stores/${store}`).set(adminHeaders).send({ isDispensary: true }).expect(200);
  await request(central.app).patch(`/admin/v1/sites/${REMOTE2}`).set(adminHeaders).send({ omsCentral: true, omsCentralUrl: url }).expect(200);
}
