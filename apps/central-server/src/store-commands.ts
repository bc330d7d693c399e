import { Option, type Command } from 'commander';
import { moveText, resyncText, storeText, storesText } from './admin-views';
import { admin, client, print, withProgress, type AdminOptions } from './cli-common';
import { whileWaiting, type ProgressOptions } from './cli-progress';

/**
 * `store add|copy|move|remove|set|resync-patients|list`. The commands that queue records for sites
 * (which may take a while on a big central) show how long they have waited, on stderr (cli-progress.ts).
 */
export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('stores and their copies');
  admin(store.command('add').description('create a store, active on a site (with a copy on the central)'))
    .requiredOption('--code <code>', 'store code (also its id)')
    .requiredOption('--name <name>', 'store name')
    .requiredOption('--active-site <id>', 'the site where the store is active', Number)
    .option('--dispensary', 'a dispensary store')
    .addOption(new Option('--central-copy <type>', 'copy type on the central').choices(['collector', 'transfer']).default('collector'))
    .action(
      async (
        o: {
          code: string;
          name: string;
          activeSite: number;
          dispensary?: boolean;
          centralCopy: 'collector' | 'transfer';
        } & AdminOptions,
      ) =>
        print(
          o,
          await client(o).addStore({
            code: o.code,
            name: o.name,
            activeSiteId: o.activeSite,
            centralCopy: o.centralCopy,
            ...(o.dispensary ? { isDispensary: true } : {}),
          }),
          storeText,
        ),
    );
  withProgress(admin(store.command('copy').description('set the copy type of a store on a site')))
    .requiredOption('--store <id>', 'store id')
    .requiredOption('--site <id>', 'site id', Number)
    .addOption(new Option('--type <type>', 'copy type').choices(['collector', 'transfer', 'none']).makeOptionMandatory())
    .action(async (o: { store: string; site: number; type: 'collector' | 'transfer' | 'none' } & AdminOptions & ProgressOptions) =>
      print(o, await whileWaiting('store copy', o, client(o).setCopyType(o.store, o.site, o.type)), storeText),
    );
  const copyChoice = (flag: string, description: string) => new Option(flag, description).choices(['none', 'transfer', 'collector']).default('none');
  withProgress(
    admin(
      store.command('move').description('move a store to another site: the new site gets all its data, the old one keeps only what --old-site-copy allows'),
    ),
  )
    .requiredOption('--store <id>', 'store id')
    .requiredOption('--to-site <id>', 'the site where the store becomes active', Number)
    .addOption(copyChoice('--old-site-copy <type>', 'what the old site keeps of the store'))
    .option('--force', 'move although records still wait for the old site (what it has not pushed is then refused and listed as an issue)')
    .action(
      async (
        o: {
          store: string;
          toSite: number;
          oldSiteCopy: 'none' | 'transfer' | 'collector';
          force?: boolean;
        } & AdminOptions &
          ProgressOptions,
      ) =>
        print(
          o,
          await whileWaiting('store move', o, client(o).moveStore(o.store, { toSiteId: o.toSite, oldSiteCopy: o.oldSiteCopy, force: o.force === true })),
          moveText,
        ),
    );
  withProgress(admin(store.command('remove').description('remove a store from its remote site: it becomes active on the central')))
    .requiredOption('--store <id>', 'store id')
    .addOption(copyChoice('--old-site-copy <type>', 'what the old site keeps of the store'))
    .option('--force', 'remove although records still wait for the old site')
    .action(async (o: { store: string; oldSiteCopy: 'none' | 'transfer' | 'collector'; force?: boolean } & AdminOptions & ProgressOptions) =>
      print(o, await whileWaiting('store remove', o, client(o).removeStore(o.store, { oldSiteCopy: o.oldSiteCopy, force: o.force === true })), moveText),
    );
  withProgress(admin(store.command('set').description("change a store's sync settings (what this widens or narrows is queued to the sites concerned)")))
    .requiredOption('--store <id>', 'store id')
    .addOption(new Option('--dispensary <on|off>', 'dispensary mode').choices(['on', 'off']))
    .addOption(new Option('--include-transactions <on|off>', 'dispensary: include transactions in sync').choices(['on', 'off']))
    .option('--name <name>', 'new store name')
    .action(
      async (
        o: {
          store: string;
          dispensary?: 'on' | 'off';
          includeTransactions?: 'on' | 'off';
          name?: string;
        } & AdminOptions &
          ProgressOptions,
      ) =>
        print(
          o,
          await whileWaiting(
            'store set',
            o,
            client(o).patchStore(o.store, {
              ...(o.name !== undefined ? { name: o.name } : {}),
              ...(o.dispensary !== undefined ? { isDispensary: o.dispensary === 'on' } : {}),
              ...(o.includeTransactions !== undefined ? { includeTransactionsInSync: o.includeTransactions === 'on' } : {}),
            }),
          ),
          storeText,
        ),
    );
  withProgress(
    admin(
      store.command('resync-patients').description('send the records of every patient visible in a store (or at home there) again to the sites that hold them'),
    ),
  )
    .requiredOption('--store <id>', 'store id')
    .action(async (o: { store: string } & AdminOptions & ProgressOptions) =>
      print(o, await whileWaiting('store resync-patients', o, client(o).resyncPatients(o.store)), resyncText),
    );
  admin(store.command('list').description('list the stores')).action(async (o: AdminOptions) => print(o, await client(o).listStores(), storesText));
}
