import { ADMIN_ROLES, errorBodySchema, whoamiResponseSchema, type AdminRole } from '@sitesync/http';
import { Option, type Command } from 'commander';
import { issuedTokenText, issuesText, issueText, reportText, retryText, tokensText } from './admin-views';
import { admin, adminToken, client, print, type AdminOptions } from './cli-common';
import { keyValue } from './cli-table';

/** The issue log (filter, acknowledge, retry), the sync report and the admin API's tokens. */
export function registerAdminCommands(program: Command): void {
  admin(program.command('issues').description('open issues: quarantined records, transfers that could not be completed, transfer conflicts'))
    .option('--prefix <prefix>', 'only keys starting with this, e.g. quarantine:2: for the refusals of site 2')
    .option('--code <code>', 'only issues of this rule code, e.g. edit.store-not-active-here')
    .addOption(new Option('--acknowledged <yes|no>', 'only acknowledged (yes) or not yet acknowledged (no) issues').choices(['yes', 'no']))
    .action(async (o: AdminOptions & { prefix?: string; code?: string; acknowledged?: 'yes' | 'no' }) =>
      print(
        o,
        await client(o).issues({
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.code !== undefined ? { code: o.code } : {}),
          ...(o.acknowledged !== undefined ? { acknowledged: o.acknowledged === 'yes' } : {}),
        }),
        issuesText,
      ),
    );

  const issue = program.command('issue').description('act on one open issue');
  admin(issue.command('acknowledge').description('mark an issue acknowledged (it stays open until its problem goes away)'))
    .requiredOption('--key <key>', 'the issue key, as `issues` lists it')
    .action(async (o: AdminOptions & { key: string }) => print(o, await client(o).acknowledgeIssue(o.key), issueText));
  admin(issue.command('retry').description('retry an issue: a refused record checked again now, or the transfer processing run again'))
    .requiredOption('--key <key>', 'the issue key, as `issues` lists it')
    .action(async (o: AdminOptions & { key: string }) => {
      const retried = await client(o).retryIssue(o.key);
      print(o, retried, retryText);
      if (retried.outcome !== 'resolved') process.exitCode = 3; // done, but the problem stands
    });

  admin(program.command('report').description('the sync report: per site and per store, last connected, last synced, waiting, stale (over 30 days)')).action(
    async (o: AdminOptions) => print(o, await client(o).report(), reportText),
  );

  admin(program.command('whoami').description('the role and token id of the admin token in use')).action(async (o: AdminOptions) =>
    print(
      o,
      await whoami(o),
      (me) =>
        `${keyValue([
          ['role', me.role === 'admin' ? 'admin' : 'viewer (view only)'],
          ['token id', me.tokenId],
        ])}\n`,
    ),
  );

  const token = program.command('token').description("the admin API's tokens: admin or view-only, kept hashed");
  admin(token.command('list').description('the tokens (never their secrets)')).action(async (o: AdminOptions) =>
    print(o, await client(o).listTokens(), tokensText),
  );
  admin(token.command('issue').description('issue a token; its secret is printed once'))
    .addOption(new Option('--role <role>', 'admin: everything; viewer: read every list and report').choices([...ADMIN_ROLES]).makeOptionMandatory())
    .requiredOption('--label <label>', 'who or what it is for')
    .action(async (o: AdminOptions & { role: AdminRole; label: string }) => print(o, await client(o).issueToken(o.role, o.label), issuedTokenText));
  admin(token.command('rotate').description('a new secret for a token (printed once); the old one stops working at once'))
    .requiredOption('--id <id>', 'the token id, as `token list` shows it')
    .action(async (o: AdminOptions & { id: string }) => print(o, await client(o).rotateToken(o.id), issuedTokenText));
  admin(token.command('revoke').description('revoke a token'))
    .requiredOption('--id <id>', 'the token id')
    .action(async (o: AdminOptions & { id: string }) => {
      await client(o).revokeToken(o.id);
      print(o, { revoked: o.id }, (r) => `revoked token ${r.revoked}\n`);
    });
}

/** `GET /admin/v1/whoami` (the admin client has no call for it). */
async function whoami(o: AdminOptions) {
  const url = `${o.url.replace(/\/+$/, '')}/admin/v1/whoami`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${adminToken(o)}`, accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new Error(
      `GET /admin/v1/whoami: the central at ${o.url} did not answer (${error instanceof Error ? error.message : String(error)}): check --url and that it is running`,
    );
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const refused = errorBodySchema.safeParse(body);
    throw new Error(refused.success ? refused.data.error.message : `GET /admin/v1/whoami: the central answered HTTP ${response.status}`);
  }
  return whoamiResponseSchema.parse(body);
}
