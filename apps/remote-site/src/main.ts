#!/usr/bin/env node
import 'reflect-metadata';
import { existsSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { readSecret, sha256Hex, syncRecordSchema } from '@sitesync/http';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { CentralRefusalError } from './central-refusals';
import { composeRemoteSite } from './container';
import { deviceIdentity, HARDWARE_ID_ENV, type DeviceIdentity } from './hardware-id';
import { CREDENTIALS_RETRY_MS, type RemoteStatus, type SyncOutcome } from './remote-config';
import { checkSiteExportFile } from './site-import';
import { describeStorageError } from './storage-errors';
import { OmsCentralHub } from './oms-central-hub';
import { serveOmsCentral, type OmsCentralServer } from './oms-central-server';
import type { RemoteSite } from './remote-site';
import type { SyncRecord } from '@sitesync/domain';

const logger = pino({ name: 'sitesync-remote', level: process.env['LOG_LEVEL'] ?? 'info' }, pino.destination(2));

const program = new Command()
  .name('sitesync-remote')
  .description('A sitesync remote site: SQLite storage and push-then-pull sync with the central server.')
  .option('--data <file>', 'the SQLite data file of this site', process.env['SITESYNC_DATA'] ?? 'sitesync-remote.sqlite')
  .option(
    '--hardware-id <id>',
    `this device's hardware id, instead of the one derived from the machine id (/etc/machine-id); or set ${HARDWARE_ID_ENV}. For containers: the same id on every run`,
  )
  .showHelpAfterError();

const dataFile = (): string => program.opts<{ data: string }>().data;

/** This device's hardware id, computed once per run when a request needs it (never taken from the data file). */
let device: DeviceIdentity | undefined;
const thisDevice = (): DeviceIdentity => {
  const option = program.opts<{ hardwareId?: string }>().hardwareId;
  return (device ??= deviceIdentity(option !== undefined ? { option } : {}));
};

async function withSite<T>(work: (site: Awaited<ReturnType<typeof composeRemoteSite>>['site']) => Promise<T>): Promise<T> {
  const composition = await composeRemoteSite(dataFile(), { device: thisDevice });
  for (const warning of composition.warnings) logger.warn(warning);
  try {
    return await work(composition.site);
  } finally {
    await composition.close();
  }
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

function describeOutcome(outcome: SyncOutcome): string {
  const main = `pushed ${outcome.pushed}, pulled ${outcome.pulled}, refused ${outcome.refused}, transfers created ${outcome.transfersCreated}, numbered ${outcome.transfersNumbered}`;
  const oms = outcome.omsCentral;
  if (!oms) return main;
  if (oms.error !== null) return `${main}; Open mSupply central server: not synced: ${oms.error}`;
  return `${main}; Open mSupply central server (${oms.url}): pushed ${oms.pushed}, pulled ${oms.pulled}, refused ${oms.refused}`;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('the port is a whole number from 0 to 65535');
  return n;
}

/** Runs `work` with this site's Open mSupply central server open when the site is flagged as one (as of its last sync). */
async function withOmsCentralHub<T>(site: RemoteSite, work: (hub: OmsCentralHub | null) => Promise<T>): Promise<T> {
  const config = await site.config();
  const topology = config ? await site.topology().catch(() => null) : null;
  if (!config || topology?.omsCentral?.id !== config.siteId) return work(null);
  const hub = await OmsCentralHub.forSite(site, dataFile());
  site.serveOmsCentral(hub);
  try {
    return await work(hub);
  } finally {
    site.serveOmsCentral(null);
    await hub.close();
  }
}

program
  .command('init')
  .description('bind this data file to a site of the central (checks the credentials, binds this device)')
  .option('--central-url <url>', 'the central server, e.g. https://central.example:8443 (with --reinitialise: the one the file holds)')
  .option('--site-name <name>', 'the site name, as created on the central (with --reinitialise: the one the file holds)')
  .option('--password-file <file>', 'a file holding the site password (or set SITESYNC_SITE_PASSWORD, or be asked on the terminal); only its SHA-256 is kept')
  .option('--password <password>', 'the site password on the command line (visible to other users in the process list: prefer --password-file)')
  .option('--ca-file <file>', "a PEM file of the CA that signed the central's certificate (https:// with a private CA)")
  .option('--insecure', 'allow plain http:// to a central on another machine (credentials and records cross the network unencrypted)')
  .option(
    '--from-file <file>',
    'start a new data file from a site export made on the central (`sitesync-central site export`) instead of pulling everything: the next sync brings only what changed since',
  )
  .option(
    '--reinitialise',
    'start this site again from the central: the data file is set aside (kept beside it) and a new one gets everything routed to the site at the next sync, its own records included; refused while changes wait to be pushed',
  )
  .action(
    async (options: {
      centralUrl?: string;
      siteName?: string;
      password?: string;
      passwordFile?: string;
      caFile?: string;
      insecure?: boolean;
      reinitialise?: boolean;
      fromFile?: string;
    }) => {
      // a file that cannot be imported is found before the data file is set aside
      if (options.reinitialise === true && options.fromFile !== undefined) await checkSiteExportFile(options.fromFile);
      const previous = options.reinitialise === true ? await setAside(dataFile()) : null;
      const centralUrl = options.centralUrl ?? previous?.centralUrl;
      const siteName = options.siteName ?? previous?.siteName;
      if (centralUrl === undefined || siteName === undefined) throw new InvalidArgumentError('init needs --central-url and --site-name');
      const passwordGiven = options.password !== undefined || options.passwordFile !== undefined || process.env['SITESYNC_SITE_PASSWORD'] !== undefined;
      const passwordSha256 =
        previous && !passwordGiven
          ? previous.passwordSha256
          : sha256Hex(
              await readSecret('site password', {
                envName: 'SITESYNC_SITE_PASSWORD',
                flagName: '--password',
                ...(options.passwordFile !== undefined ? { file: options.passwordFile } : {}),
                ...(options.password !== undefined ? { flag: options.password } : {}),
              }),
            );
      const caFile = options.caFile !== undefined ? resolve(options.caFile) : (previous?.caFile ?? null);
      const credentials = {
        centralUrl,
        siteName,
        passwordSha256,
        insecure: options.insecure === true || previous?.insecure === true,
        caFile,
      };
      const fromFile = options.fromFile;
      if (fromFile !== undefined) {
        const { imported, keptWithErrors, header } = await withSite(async (site) => {
          const done = await site.initFromExport({ ...credentials, file: fromFile });
          return { imported: done.imported, keptWithErrors: done.keptWithErrors, header: done.export.header };
        });
        process.stdout.write(
          `initialised as site ${header.siteId} "${header.siteName}" of ${centralUrl} from ${fromFile} (exported ${header.exportedAt}): imported ${imported} records` +
            `${keptWithErrors > 0 ? `, ${keptWithErrors} of them kept with their errors (see status)` : ''}; the next sync brings what changed since the export\n`,
        );
        if (previous) process.stdout.write(`the previous data file is kept as ${previous.keptAs}\n`);
        for (const w of header.warnings) process.stderr.write(`warning: ${w.message} The export does not hold it either.\n`);
        return;
      }
      const { config, warnings } = await withSite(async (site) => {
        const made = await site.init(credentials);
        return { config: made, warnings: await site.initialisationWarnings() };
      });
      process.stdout.write(`initialised as site ${config.siteId} "${config.siteName}" of ${config.centralUrl}\n`);
      if (previous)
        process.stdout.write(`the previous data file is kept as ${previous.keptAs}; the next sync brings back everything the central holds for this site\n`);
      for (const w of warnings) process.stderr.write(`warning: ${w.message}\n  fix: ${w.fix}\n`);
    },
  );

/**
 * Sets the data file aside for a re-initialisation, once nothing in it waits to be pushed; returns
 * its settings (credentials, device id) for the new file.
 */
async function setAside(file: string) {
  const status = await withSite(async (site) => ({
    config: await site.config(),
    status: (await site.config()) ? await site.status({ askCentral: false }) : null,
  }));
  if (!status.config || !status.status) throw new Error(`${file} is not initialised: run init without --reinitialise.`);
  if (status.status.waitingToPush > 0) {
    throw new Error(
      `${status.status.waitingToPush} changes in ${file} have not been pushed to the central yet; re-initialising now would lose them. ` +
        'Run `sitesync-remote sync` until nothing waits (see `sitesync-remote status`), then re-initialise.',
    );
  }
  const keptAs = `${file}.before-reinitialise-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, keptAs);
  for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, keptAs + suffix);
  return { ...status.config, keptAs };
}

program
  .command('update')
  .description(
    "give this data file the site's new name, the central's new URL or the site's new password (after they changed on the central); checked with the central before anything is saved; the data is kept",
  )
  .option('--site-name <name>', 'the site name as it is on the central now')
  .option('--central-url <url>', 'the central server as it is reached now, e.g. https://central.example:8443')
  .option('--password-file <file>', 'a file holding the new site password (or set SITESYNC_SITE_PASSWORD); only its SHA-256 is kept')
  .option('--password <password>', 'the new site password on the command line (visible to other users in the process list: prefer --password-file)')
  .option('--ca-file <file>', "a PEM file of the CA that signed the central's certificate (https:// with a private CA)")
  .option('--insecure', 'allow plain http:// to a central on another machine (credentials and records cross the network unencrypted)')
  .action(async (options: { siteName?: string; centralUrl?: string; password?: string; passwordFile?: string; caFile?: string; insecure?: boolean }) => {
    const passwordGiven = options.password !== undefined || options.passwordFile !== undefined || process.env['SITESYNC_SITE_PASSWORD'] !== undefined;
    if (!passwordGiven && options.siteName === undefined && options.centralUrl === undefined && options.caFile === undefined && options.insecure !== true) {
      throw new InvalidArgumentError(
        'update needs what changed on the central: --site-name NAME, --central-url URL, and/or a new password (--password-file FILE, SITESYNC_SITE_PASSWORD or --password)',
      );
    }
    const passwordSha256 = passwordGiven
      ? sha256Hex(
          await readSecret('site password', {
            envName: 'SITESYNC_SITE_PASSWORD',
            flagName: '--password',
            ...(options.passwordFile !== undefined ? { file: options.passwordFile } : {}),
            ...(options.password !== undefined ? { flag: options.password } : {}),
          }),
        )
      : undefined;
    const { after, changed } = await withSite((site) =>
      site.update({
        ...(options.siteName !== undefined ? { siteName: options.siteName } : {}),
        ...(options.centralUrl !== undefined ? { centralUrl: options.centralUrl } : {}),
        ...(passwordSha256 !== undefined ? { passwordSha256 } : {}),
        ...(options.caFile !== undefined ? { caFile: resolve(options.caFile) } : {}),
        ...(options.insecure === true ? { insecure: true } : {}),
      }),
    );
    process.stdout.write(`updated ${changed.join(', ')}: site ${after.siteId} "${after.siteName}" of ${after.centralUrl}; the central accepted them\n`);
  });

program
  .command('sync')
  .description('run one sync cycle now: push this site’s changes, then pull')
  .action(async () => {
    const outcome = await withSite((site) =>
      withOmsCentralHub(site, () =>
        site.sync((p) => {
          if (p.phase === 'pull' && process.stderr.isTTY)
            process.stderr.write(`\rpulled ${p.received}, ${p.remaining} remaining (request size ${p.requestSize})   `);
        }),
      ),
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(`${describeOutcome(outcome)}\n`);
  });

program
  .command('run')
  .description('sync on the site’s interval (minimum 1 minute) until stopped; retries with backoff when the central cannot be reached')
  .option('--interval <minutes>', 'override the interval', (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 1) throw new InvalidArgumentError('the interval is at least 1 minute');
    return n;
  })
  .option('--serve', 'on the site flagged as the Open mSupply central server: also serve the Open mSupply sync API to the other remote sites')
  .option('--port <port>', 'with --serve: the port to listen on', (v) => parsePort(v), 8090)
  .option('--host <host>', 'with --serve: the address to listen on', '127.0.0.1')
  .action(async (options: { interval?: number; serve?: boolean; port: number; host: string }) => {
    const controller = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
    await withSite(async (site) => {
      const server = options.serve ? await serveOmsCentral(site, { port: options.port, host: options.host, dataFile: dataFile(), logger }) : null;
      try {
        await runCycles(site, options, controller.signal, server);
      } finally {
        await server?.close();
      }
    });
  });

async function runCycles(site: RemoteSite, options: { interval?: number }, signal: AbortSignal, server: OmsCentralServer | null): Promise<void> {
  await site.run({
    signal,
    ...(options.interval !== undefined ? { intervalMinutes: options.interval } : {}),
    onCycle: (o) => {
      void server?.refresh();
      if (!(o instanceof Error)) logger.info({ ...o }, describeOutcome(o));
      else if (o instanceof CentralRefusalError && o.code !== 'site_incorrect_hardware_id')
        logger.error(
          { err: o, code: o.code },
          `sync refused: ${o.message} The same credentials are tried again in ${CREDENTIALS_RETRY_MS / 60_000} minutes, or within a minute of \`sitesync-remote update\` changing them.`,
        );
      else logger.warn({ err: o }, `sync failed; retrying: ${describeStorageError(o, dataFile())?.message ?? o.message}`);
    },
  });
}

program
  .command('status')
  .description('records waiting to push, records waiting on the central, last sync, failed records and why')
  .action(async () => {
    const status = await withSite((site) => site.status());
    print({ summary: summaryOf(status), ...status });
  });

/** The status in two lines a person reads first: outgoing and incoming. */
function summaryOf(status: RemoteStatus): string[] {
  const incoming =
    status.incoming.waiting === null ? `incoming: unknown: ${status.incoming.error}` : `incoming: ${status.incoming.waiting} waiting on the central`;
  const oms = status.omsCentral;
  const omsLine = !oms
    ? []
    : oms.error !== null
      ? [`Open mSupply central server: not synced: ${oms.error} Fix: ${oms.fix ?? ''}`]
      : [`Open mSupply central server (${oms.url}): synced at ${oms.lastSyncedAt ?? 'never'}`];
  return [...(status.role ? [`this site is the ${status.role}`] : []), `outgoing: ${status.waitingToPush} waiting to push`, incoming, ...omsLine];
}

const record = program.command('record').description('enter and read records from scripts');
record
  .command('put')
  .option('--type <type>', 'record type from the catalogue (e.g. stock_line), for records that do not name their own "type"')
  .requiredOption('--json <json>', 'the record: {"id": ..., "storeId": ..., "data": {...}} (or an array of them: a document and its lines at once)')
  .action(async (options: { type?: string; json: string }) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.json);
    } catch (error) {
      throw new InvalidArgumentError(`--json is not valid JSON: ${(error as Error).message}`);
    }
    const records = (Array.isArray(parsed) ? parsed : [parsed]).map((r: unknown, i) => recordFromArgument(r, i, options.type));
    const result = await withSite((site) => site.putRecords(records));
    if (!result.ok) {
      for (const v of result.error) process.stderr.write(`refused ${v.code}: ${v.message}\n  fix: ${v.fix}\n`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`written ${result.value.written}\n`);
  });
record
  .command('list')
  .requiredOption('--type <type>', 'record type')
  .action(async (options: { type: string }) => print(await withSite((site) => site.listRecords(options.type))));

/**
 * One record of `record put --json`: its own "type", or --type; a record naming another type than
 * --type is an error (never silently retyped), and the shape is the sync API's (docs/sync-api.md).
 */
function recordFromArgument(value: unknown, index: number, type: string | undefined): SyncRecord {
  const which = `record ${index + 1} of --json`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${which} is not a JSON object`);
  const given = (value as { type?: unknown }).type;
  if (given !== undefined && type !== undefined && given !== type) {
    throw new InvalidArgumentError(
      `${which} says "type": ${JSON.stringify(given)} but --type is "${type}": leave out --type (each record names its own) or make them agree`,
    );
  }
  if (given === undefined && type === undefined) throw new InvalidArgumentError(`${which} has no "type": give it one, or pass --type`);
  const result = syncRecordSchema.safeParse({ data: {}, ...value, type: given ?? type });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidArgumentError(`${which}: ${issue.path.join('.') || '(record)'}: ${issue.message}`);
  }
  return result.data as SyncRecord;
}

program.parseAsync().catch((error: unknown) => {
  // The message says what went wrong and what to do; the stack is for LOG_LEVEL=debug.
  logger.debug({ err: error }, 'command failed');
  // SQLite's own words ("database is locked") name neither the file nor what to do about it.
  const storage = describeStorageError(error, dataFile());
  process.stderr.write(`${storage?.message ?? (error instanceof Error ? error.message : String(error))}\n`);
  process.exitCode = 1;
});
