import { readSecret } from '@sitesync/http';
import { Option, type Command } from 'commander';
import { siteText, sitesText } from './admin-views';
import { queuedText } from './cli-table';
import { admin, client, print, withProgress, type AdminOptions } from './cli-common';
import type { ProgressOptions } from './cli-progress';
import { exportSite, exportText } from './site-export-command';

/** `site add|list|set|remove|make-primary|unblock|reset-hardware-id|export`. */
export function registerSiteCommands(program: Command): void {
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
      async (
        o: {
          name: string;
          password?: string;
          passwordFile?: string;
          code?: string;
          type: 'desktop' | 'mobile';
          primary?: boolean;
        } & AdminOptions,
      ) =>
        print(
          o,
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
          siteText,
        ),
    );
  admin(site.command('list').description('list the sites')).action(async (o: AdminOptions) => print(o, await client(o).listSites(), sitesText));
  admin(
    site
      .command('set')
      .description(
        "change a site's code, name, type, sync interval, request size, server URL, Open mSupply central flag or centralised procurement preference",
      ),
  )
    .requiredOption('--site <id>', 'site id', Number)
    .option('--code <code>', 'new code')
    .option('--name <name>', 'new name (the remote signs in with it: update it there too, with sitesync-remote init)')
    .addOption(new Option('--type <type>', 'device type').choices(['desktop', 'mobile']))
    .option('--interval <minutes>', 'sync interval in minutes (at least 1)', Number)
    .option('--request-size <records>', 'records per request (10 to 5000)', Number)
    .option('--server-url <url>', "the site's own URL ('none' to clear)")
    .addOption(
      new Option('--oms-central <on|off>', 'the site is the Open mSupply central server (at most one; needs --oms-central-url)').choices(['on', 'off']),
    )
    .option('--oms-central-url <url>', "the Open mSupply central server's URL, which remotes learn")
    .addOption(
      new Option(
        '--centralised-procurement <on|off|follow>',
        "the centralised procurement preference: on the primary, the network's (every satellite follows it); on another site, on/off overrides it for its stores, follow takes the primary's again",
      ).choices(['on', 'off', 'follow']),
    )
    .action(
      async (
        o: {
          site: number;
          code?: string;
          name?: string;
          type?: 'desktop' | 'mobile';
          interval?: number;
          requestSize?: number;
          serverUrl?: string;
          omsCentral?: 'on' | 'off';
          omsCentralUrl?: string;
          centralisedProcurement?: 'on' | 'off' | 'follow';
        } & AdminOptions,
      ) =>
        print(
          o,
          await client(o).patchSite(o.site, {
            ...(o.code !== undefined ? { code: o.code } : {}),
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.type !== undefined ? { deviceType: o.type } : {}),
            ...(o.interval !== undefined ? { syncIntervalMinutes: o.interval } : {}),
            ...(o.requestSize !== undefined ? { requestSize: o.requestSize } : {}),
            ...(o.serverUrl !== undefined ? { serverUrl: o.serverUrl === 'none' ? null : o.serverUrl } : {}),
            ...(o.omsCentral !== undefined ? { omsCentral: o.omsCentral === 'on' } : {}),
            ...(o.omsCentralUrl !== undefined ? { omsCentralUrl: o.omsCentralUrl } : {}),
            ...(o.centralisedProcurement !== undefined
              ? { centralisedProcurement: o.centralisedProcurement === 'follow' ? null : o.centralisedProcurement === 'on' }
              : {}),
          }),
          siteText,
        ),
    );
  admin(site.command('remove').description('delete a site: refused while stores are active on it, and for the central itself; its id is never given again'))
    .requiredOption('--site <id>', 'site id', Number)
    .action(async (o: AdminOptions & { site: number }) =>
      print(o, await client(o).deleteSite(o.site), (d) => `deleted site ${d.deleted.id} ${d.deleted.name}; its id is not given again\n`),
    );
  admin(site.command('unblock').description('unblock a site after failed logins'))
    .requiredOption('--site <id>', 'site id', Number)
    .action(async (o: AdminOptions & { site: number }) => print(o, await client(o).unblockSite(o.site), siteText));
  admin(
    site
      .command('make-primary')
      .description(
        'move the primary role (mirrored sync) to a site holding every store; refused while the old primary has unpushed changes or records wait for the new one',
      ),
  )
    .requiredOption('--site <id>', 'site id', Number)
    .option('--force', 'move although the old primary had changes not pushed or records still wait for the new one')
    .action(async (o: AdminOptions & { site: number; force?: boolean }) =>
      print(
        o,
        await client(o).makePrimary(o.site, { force: o.force === true }),
        (m) => `the primary role moved from site ${m.from.id} ${m.from.name} to site ${m.to.id} ${m.to.name}\nqueued: ${queuedText(m.queued)}\n`,
      ),
    );
  admin(site.command('reset-hardware-id').description('let a site sync from a new device'))
    .requiredOption('--site <id>', 'site id', Number)
    .action(async (o: AdminOptions & { site: number }) => print(o, await client(o).resetHardwareId(o.site), siteText));

  withProgress(
    admin(
      site
        .command('export')
        .description('write everything the central holds for a site (its own records included) to a file, to initialise a new data file from it'),
    ),
  )
    .requiredOption('--site <id>', 'site id', Number)
    .requiredOption('--out <file>', "the file to write (mode 600: it holds the site's data); gzip-compressed when it ends in .gz")
    .action(async (o: AdminOptions & ProgressOptions & { site: number; out: string }) => print(o, await exportSite(client(o), o.site, o.out, o), exportText));
}
