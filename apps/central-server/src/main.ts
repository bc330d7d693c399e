#!/usr/bin/env node
import 'reflect-metadata';
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { readSecret, type AdminClient } from '@sitesync/http';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { startCentralServer } from './central-server';
import { admin, client, print } from './cli-common';
import { registerAdminCommands } from './admin-commands';
import { registerExplainCommand } from './explain-command';

const logger = pino({ name: 'sitesync-central', level: process.env['LOG_LEVEL'] ?? 'info' }, pino.destination(2));

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
};

const program = new Command().name('sitesync-central').description('The sitesync central server and its admin commands.').showHelpAfterError();

program
  .command('serve')
  .description('run the central server (Postgres from --database-url / DATABASE_URL, else embedded PGlite in --data-dir)')
  .option('--port <port>', 'port to listen on', port, 8080)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .addOption(new Option('--database-url <url>', 'a Postgres server').env('DATABASE_URL'))
  .option('--data-dir <dir>', 'embedded PGlite data directory (without --database-url), and where the admin token is kept', 'sitesync-central-data')
  .addOption(
    new Option('--admin-token <token>', 'token for the admin API (default: made once and kept in the data directory, mode 600)').env('SITESYNC_ADMIN_TOKEN'),
  )
  .option('--admin-token-file <file>', 'read the admin token from this file')
  .option('--trust-proxy <hops>', 'behind a reverse proxy: how many proxies to trust for the client address (logs, login limits)', Number)
  .option('--site-name <name>', "the central's own site name (first start only)", 'central')
  .action(
    async (options: {
      port: number;
      host: string;
      databaseUrl?: string;
      dataDir: string;
      adminToken?: string;
      adminTokenFile?: string;
      trustProxy?: number;
      siteName: string;
    }) => {
      const { adminTokenFile, ...rest } = options;
      const adminToken =
        adminTokenFile !== undefined
          ? await readSecret('admin token', { file: adminTokenFile, envName: 'SITESYNC_ADMIN_TOKEN', flagName: '--admin-token' })
          : options.adminToken;
      const central = await startCentralServer({ ...rest, ...(adminToken !== undefined ? { adminToken } : {}), logger });
      process.stdout.write(`sitesync central listening on ${central.url}\n`);
      const stop = () => {
        logger.info('shutting down');
        void central.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

const site = program.command('site').description('sync sites');
admin(site.command('add').description('create a site'))
  .requiredOption('--name <name>', 'the site name (remote sites authenticate with it)')
  .option(
    '--password-file <file>',
    'a file holding the site password (or set SITESYNC_SITE_PASSWORD, or be asked on the terminal); stored only as a salted hash',
  )
  .option('--password <password>', 'the site password on the command line (visible in the process list: prefer --password-file)')
  .option('--code <code>', 'a short code')
  .addOption(new Option('--type <type>', 'device type').choices(['desktop', 'mobile']).default('desktop'))
  .option('--primary', 'make this site the primary server (mirrored sync)')
  .action(
    async (o: {
      name: string;
      password?: string;
      passwordFile?: string;
      code?: string;
      type: 'desktop' | 'mobile';
      primary?: boolean;
      url: string;
      adminToken?: string;
      dataDir: string;
    }) =>
      print(
        await client(o).addSite({
          name: o.name,
          password: await readSecret('site password', {
            envName: 'SITESYNC_SITE_PASSWORD',
            flagName: '--password',
            ...(o.passwordFile !== undefined ? { file: o.passwordFile } : {}),
            ...(o.password !== undefined ? { flag: o.password } : {}),
          }),
          deviceType: o.type,
          ...(o.code ? { code: o.code } : {}),
          ...(o.primary ? { primary: true } : {}),
        }),
      ),
  );
admin(site.command('list').description('list the sites')).action(async (o: { url: string; adminToken?: string; dataDir: string }) =>
  print(await client(o).listSites()),
);
admin(site.command('set').description("change a site's code, name, type, sync interval, request size, server URL or Open mSupply central flag"))
  .requiredOption('--site <id>', 'site id', Number)
  .option('--code <code>', 'new code')
  .option('--name <name>', 'new name (the remote signs in with it: update it there too, with sitesync-remote init)')
  .addOption(new Option('--type <type>', 'device type').choices(['desktop', 'mobile']))
  .option('--interval <minutes>', 'sync interval in minutes (at least 1)', Number)
  .option('--request-size <records>', 'records per request (10 to 5000)', Number)
  .option('--server-url <url>', "the site's own URL ('none' to clear)")
  .addOption(new Option('--oms-central <on|off>', 'the site is the Open mSupply central server (at most one; needs --oms-central-url)').choices(['on', 'off']))
  .option('--oms-central-url <url>', "the Open mSupply central server's URL, which remotes learn")
  .action(
    async (o: {
      site: number;
      code?: string;
      name?: string;
      type?: 'desktop' | 'mobile';
      interval?: number;
      requestSize?: number;
      serverUrl?: string;
      omsCentral?: 'on' | 'off';
      omsCentralUrl?: string;
      url: string;
      adminToken?: string;
      dataDir: string;
    }) =>
      print(
        await client(o).patchSite(o.site, {
          ...(o.code !== undefined ? { code: o.code } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.type !== undefined ? { deviceType: o.type } : {}),
          ...(o.interval !== undefined ? { syncIntervalMinutes: o.interval } : {}),
          ...(o.requestSize !== undefined ? { requestSize: o.requestSize } : {}),
          ...(o.serverUrl !== undefined ? { serverUrl: o.serverUrl === 'none' ? null : o.serverUrl } : {}),
          ...(o.omsCentral !== undefined ? { omsCentral: o.omsCentral === 'on' } : {}),
          ...(o.omsCentralUrl !== undefined ? { omsCentralUrl: o.omsCentralUrl } : {}),
        }),
      ),
  );
admin(site.command('remove').description('delete a site: refused while stores are active on it, and for the central itself; its id is never given again'))
  .requiredOption('--site <id>', 'site id', Number)
  .action(async (o: { site: number; url: string; adminToken?: string; dataDir: string }) => print(await client(o).deleteSite(o.site)));
admin(site.command('unblock').description('unblock a site after failed logins'))
  .requiredOption('--site <id>', 'site id', Number)
  .action(async (o: { site: number; url: string; adminToken?: string; dataDir: string }) => print(await client(o).unblockSite(o.site)));
admin(site.command('reset-hardware-id').description('let a site sync from a new device'))
  .requiredOption('--site <id>', 'site id', Number)
  .action(async (o: { site: number; url: string; adminToken?: string; dataDir: string }) => print(await client(o).resetHardwareId(o.site)));

admin(
  site
    .command('export')
    .description('write everything the central holds for a site (its own records included) to a file, to initialise a new data file from it'),
)
  .requiredOption('--site <id>', 'site id', Number)
  .requiredOption('--out <file>', "the file to write (mode 600: it holds the site's data); gzip-compressed when it ends in .gz")
  .action(async (o: { site: number; out: string; url: string; adminToken?: string; dataDir: string }) => print(await exportSite(client(o), o.site, o.out)));

/**
 * Writes a site's export to `out`: first to `out.partial` (mode 600), renamed to `out` once the whole
 * export arrived and was checked, so a file named `out` is always complete.
 */
async function exportSite(admin: AdminClient, siteId: number, out: string) {
  const partial = `${out}.partial`;
  rmSync(partial, { force: true }); // made anew, with mode 600
  const file = createWriteStream(partial, { mode: 0o600 });
  const sink: Writable = out.endsWith('.gz') ? createGzip() : file;
  if (sink !== file) sink.pipe(file);
  try {
    const { header, records } = await admin.exportSite(siteId, async (line) => {
      if (!sink.write(`${line}\n`)) await once(sink, 'drain');
    });
    sink.end();
    await finished(file);
    renameSync(partial, out);
    for (const w of header.warnings) {
      process.stderr.write(
        `warning: ${w.message}\n  fix: the export does not hold it either. Before exporting, give the store a collector copy on the central (store copy --store ID --site 1 --type collector) and let the site sync from its old device; or keep using its old data file.\n`,
      );
    }
    return { siteId: header.siteId, siteName: header.siteName, file: out, records, feedCursor: header.feedCursor, exportedAt: header.exportedAt };
  } catch (error) {
    sink.destroy();
    file.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
}

const store = program.command('store').description('stores and their copies');
admin(store.command('add').description('create a store, active on a site (with a copy on the central)'))
  .requiredOption('--code <code>', 'store code (also its id)')
  .requiredOption('--name <name>', 'store name')
  .requiredOption('--active-site <id>', 'the site where the store is active', Number)
  .option('--dispensary', 'a dispensary store')
  .addOption(new Option('--central-copy <type>', 'copy type on the central').choices(['collector', 'transfer']).default('collector'))
  .action(
    async (o: {
      code: string;
      name: string;
      activeSite: number;
      dispensary?: boolean;
      centralCopy: 'collector' | 'transfer';
      url: string;
      adminToken?: string;
      dataDir: string;
    }) =>
      print(
        await client(o).addStore({
          code: o.code,
          name: o.name,
          activeSiteId: o.activeSite,
          centralCopy: o.centralCopy,
          ...(o.dispensary ? { isDispensary: true } : {}),
        }),
      ),
  );
admin(store.command('copy').description('set the copy type of a store on a site'))
  .requiredOption('--store <id>', 'store id')
  .requiredOption('--site <id>', 'site id', Number)
  .addOption(new Option('--type <type>', 'copy type').choices(['collector', 'transfer', 'none']).makeOptionMandatory())
  .action(async (o: { store: string; site: number; type: 'collector' | 'transfer' | 'none'; url: string; adminToken?: string; dataDir: string }) =>
    print(await client(o).setCopyType(o.store, o.site, o.type)),
  );
const copyChoice = (flag: string, description: string) => new Option(flag, description).choices(['none', 'transfer', 'collector']).default('none');
admin(store.command('move').description('move a store to another site: the new site gets all its data, the old one keeps only what --old-site-copy allows'))
  .requiredOption('--store <id>', 'store id')
  .requiredOption('--to-site <id>', 'the site where the store becomes active', Number)
  .addOption(copyChoice('--old-site-copy <type>', 'what the old site keeps of the store'))
  .option('--force', 'move although records still wait for the old site (what it has not pushed is then refused and listed as an issue)')
  .action(
    async (o: {
      store: string;
      toSite: number;
      oldSiteCopy: 'none' | 'transfer' | 'collector';
      force?: boolean;
      url: string;
      adminToken?: string;
      dataDir: string;
    }) => print(await client(o).moveStore(o.store, { toSiteId: o.toSite, oldSiteCopy: o.oldSiteCopy, force: o.force === true })),
  );
admin(store.command('remove').description('remove a store from its remote site: it becomes active on the central'))
  .requiredOption('--store <id>', 'store id')
  .addOption(copyChoice('--old-site-copy <type>', 'what the old site keeps of the store'))
  .option('--force', 'remove although records still wait for the old site')
  .action(async (o: { store: string; oldSiteCopy: 'none' | 'transfer' | 'collector'; force?: boolean; url: string; adminToken?: string; dataDir: string }) =>
    print(await client(o).removeStore(o.store, { oldSiteCopy: o.oldSiteCopy, force: o.force === true })),
  );
admin(store.command('set').description("change a store's sync settings (what this widens or narrows is queued to the sites concerned)"))
  .requiredOption('--store <id>', 'store id')
  .addOption(new Option('--dispensary <on|off>', 'dispensary mode').choices(['on', 'off']))
  .addOption(new Option('--include-transactions <on|off>', 'dispensary: include transactions in sync').choices(['on', 'off']))
  .addOption(new Option('--centralised-procurement <on|off>', 'purchase orders entered on the primary').choices(['on', 'off']))
  .option('--name <name>', 'new store name')
  .action(
    async (o: {
      store: string;
      dispensary?: 'on' | 'off';
      includeTransactions?: 'on' | 'off';
      centralisedProcurement?: 'on' | 'off';
      name?: string;
      url: string;
      adminToken?: string;
      dataDir: string;
    }) =>
      print(
        await client(o).patchStore(o.store, {
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.dispensary !== undefined ? { isDispensary: o.dispensary === 'on' } : {}),
          ...(o.includeTransactions !== undefined ? { includeTransactionsInSync: o.includeTransactions === 'on' } : {}),
          ...(o.centralisedProcurement !== undefined ? { centralisedProcurement: o.centralisedProcurement === 'on' } : {}),
        }),
      ),
  );
admin(store.command('resync-patients').description('send the records of every patient visible in a store (or at home there) again to the sites that hold them'))
  .requiredOption('--store <id>', 'store id')
  .action(async (o: { store: string; url: string; adminToken?: string; dataDir: string }) => print(await client(o).resyncPatients(o.store)));
admin(store.command('list').description('list the stores')).action(async (o: { url: string; adminToken?: string; dataDir: string }) =>
  print(await client(o).listStores()),
);

registerAdminCommands(program);
registerExplainCommand(program);
program.parseAsync().catch((error: unknown) => {
  // The message says what went wrong and what to do; the stack is for LOG_LEVEL=debug.
  logger.debug({ err: error }, 'command failed');
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
