import type { Server } from 'node:http';
import { createOmsCentralApp, hardenServer, type OmsCentralIdentity } from '@sitesync/http';
import type { Logger } from 'pino';
import { OmsCentralHub } from './oms-central-hub';
import type { RemoteSite } from './remote-site';

export interface OmsCentralServer {
  readonly url: string;
  /** reads again who this site is and whether it is flagged (after each cycle) */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `sitesync-remote run --serve`: this site serves the Open mSupply sync API (`createOmsCentralApp`)
 * from its Open mSupply central file beside `dataFile`, and exchanges its own Open mSupply data with it in this
 * process at each cycle. It says on standard output that it is the central server (or that the
 * mSupply central does not flag it yet, in which case every sync request is answered 503).
 */
export async function serveOmsCentral(
  site: RemoteSite,
  options: { readonly port: number; readonly host: string; readonly dataFile: string; readonly logger: Logger },
): Promise<OmsCentralServer> {
  const config = await site.config();
  if (!config) throw new Error('This data file is not bound to a site yet: run `sitesync-remote init` first.');
  const hub = await OmsCentralHub.forSite(site, options.dataFile);
  site.serveOmsCentral(hub);
  const identityNow = async (): Promise<OmsCentralIdentity> => {
    const current = (await site.config()) ?? config;
    const topology = await site.topology().catch(() => null);
    const oms = topology?.omsCentral;
    return {
      siteId: current.siteId,
      siteName: current.siteName,
      flagged: oms?.id === current.siteId,
      url: oms?.id === current.siteId ? oms.omsCentralUrl : null,
      centralUrl: current.centralUrl,
      lastCentralSyncAt: current.lastSyncedAt ? new Date(current.lastSyncedAt) : null,
    };
  };
  let identity = await identityNow();
  const app = createOmsCentralApp({
    storage: hub.storage,
    clock: { now: () => new Date() },
    central: hub.service,
    refreshTopology: () => hub.refresh(),
    identity: () => identity,
    logger: options.logger,
    requestLogger: options.logger,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port, options.host, () => resolve(listening));
    listening.once('error', reject);
  });
  hardenServer(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  const banner = [
    `Open mSupply central server — site ${identity.siteId} "${identity.siteName}"`,
    `  serving the Open mSupply sync API on ${url} (its page: ${url}/)`,
    `  mSupply central: ${identity.centralUrl}`,
    ...(identity.flagged
      ? [`  remote sites are told: ${identity.url ?? ''}`]
      : [
          `  not flagged as the Open mSupply central server on the mSupply central (as of this site's last sync): sync requests are answered 503 until it is`,
          `  (sitesync-central site set --site ${identity.siteId} --oms-central on --oms-central-url URL)`,
        ]),
  ];
  process.stdout.write(`${banner.join('\n')}\n`);
  options.logger.info({ url, siteId: identity.siteId, flagged: identity.flagged }, 'Open mSupply central server listening');
  return {
    url,
    async refresh() {
      identity = await identityNow();
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      site.serveOmsCentral(null);
      await hub.close();
    },
  };
}
