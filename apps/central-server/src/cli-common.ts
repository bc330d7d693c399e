import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '@sitesync/http';
import { InvalidArgumentError, Option, type Command } from 'commander';

/** The options every admin command has. */
export interface AdminOptions {
  readonly url: string;
  readonly adminToken?: string;
  readonly dataDir: string;
}

/** Prints a command's answer as JSON. */
export const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** Admin commands talk to a running central over its admin API, whatever its database. */
export function admin(command: Command): Command {
  return command
    .option('--url <url>', 'the central server', process.env['SITESYNC_CENTRAL_URL'] ?? 'http://127.0.0.1:8080')
    .addOption(new Option('--admin-token <token>', 'admin token').env('SITESYNC_ADMIN_TOKEN'))
    .option('--data-dir <dir>', 'read the admin token from this data directory', 'sitesync-central-data');
}

export function client(options: { url: string; adminToken?: string; dataDir: string }): AdminClient {
  let token = options.adminToken;
  if (!token) {
    try {
      token = readFileSync(join(options.dataDir, 'admin-token'), 'utf8').trim();
    } catch {
      throw new InvalidArgumentError(
        `no admin token: pass --admin-token, set SITESYNC_ADMIN_TOKEN, or run from where ${join(options.dataDir, 'admin-token')} exists`,
      );
    }
  }
  return new AdminClient({ baseUrl: options.url, adminToken: token });
}
