#!/usr/bin/env node
import 'reflect-metadata';
import { readSecret } from '@sitesync/http';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { startCentralServer } from './central-server';
import { registerAdminCommands } from './admin-commands';
import { errorText } from './cli-common';
import { registerSiteCommands } from './site-commands';
import { registerStoreCommands } from './store-commands';
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

registerSiteCommands(program);
registerStoreCommands(program);
registerAdminCommands(program);
registerExplainCommand(program);
program.parseAsync().catch((error: unknown) => {
  // The message says what went wrong and what to do; the stack is for LOG_LEVEL=debug.
  logger.debug({ err: error }, 'command failed');
  process.stderr.write(errorText(error));
  process.exitCode = 1;
});
