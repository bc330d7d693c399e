import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '@sitesync/http';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { fields } from './cli-table';

/** The options every admin command has. */
export interface AdminOptions {
  readonly url: string;
  readonly adminToken?: string;
  readonly dataDir: string;
  /** print the API's answer as JSON instead of text */
  readonly json?: boolean;
}

/**
 * Prints a command's answer: as text (`text`, by default a key-value block of its fields), or as the
 * API's JSON with `--json`, for scripts.
 */
export function print<T>(options: { readonly json?: boolean }, value: T, text: (value: T) => string = (v) => `${fields(v as object)}\n`): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : text(value));
}

/**
 * What a failed command prints on stderr: the message (which says what to do), then for an answer
 * that names broken rules (a topology change refused) one `rule: <code> (<rule>)` line each.
 */
export function errorText(error: unknown): string {
  const lines = [error instanceof Error ? error.message : String(error)];
  const data = error instanceof Error ? (error as Error & { data?: unknown }).data : undefined;
  if (Array.isArray(data)) {
    for (const item of data as unknown[]) {
      const v = item as { code?: unknown; rule?: unknown } | null;
      if (v && typeof v.code === 'string' && typeof v.rule === 'string') lines.push(`rule: ${v.code} (${v.rule})`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `--progress` / `--no-progress` for a long command (cli-progress.ts). */
export function withProgress(command: Command): Command {
  return command
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress on stderr, even on a terminal');
}

/** Admin commands talk to a running central over its admin API, whatever its database. */
export function admin(command: Command): Command {
  return command
    .option('--url <url>', 'the central server', process.env['SITESYNC_CENTRAL_URL'] ?? 'http://127.0.0.1:8080')
    .addOption(new Option('--admin-token <token>', 'admin token').env('SITESYNC_ADMIN_TOKEN'))
    .option('--data-dir <dir>', 'read the admin token from this data directory', 'sitesync-central-data')
    .option('--json', "print the API's answer as JSON (for scripts) instead of a table");
}

export function client(options: { url: string; adminToken?: string; dataDir: string }): AdminClient {
  return new AdminClient({ baseUrl: options.url, adminToken: adminToken(options) });
}

/** The admin token: --admin-token, SITESYNC_ADMIN_TOKEN, or the token file in --data-dir. */
export function adminToken(options: { adminToken?: string; dataDir: string }): string {
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
  return token;
}
