import type {
  AdminSite,
  AdminTokenInfoJson,
  IssuedTokenJson,
  IssueRetryResponse,
  MoveStoreResponse,
  ResyncPatientsResponse,
  SiteJson,
  StoreJson,
  SyncIssueJson,
  SyncReport,
} from '@sitesync/http';
import { cell, count, keyValue, queuedText, table, time } from './cli-table';

/** The text each admin command prints without `--json`: tables for lists, key-value blocks for one thing. */

/** A store as the API answers it (the client's lists are read-only). */
type StoreView = Omit<StoreJson, 'copies'> & { readonly copies: readonly { readonly siteId: number; readonly type: string }[] };

const lines = (...parts: (string | false | undefined)[]): string => `${parts.filter((p): p is string => typeof p === 'string').join('\n')}\n`;

const copiesText = (store: StoreView) => cell(store.copies.map((c) => `${c.siteId} ${c.type}`));

const storeFlags = (store: StoreView) =>
  cell([store.isDispensary && 'dispensary', store.includeTransactionsInSync && 'transactions', store.centralisedProcurement && 'centralised'].filter(Boolean));

const siteState = (site: { stale: boolean; blocked?: boolean }) => cell([site.stale && 'STALE', site.blocked === true && 'BLOCKED'].filter(Boolean));

export function sitesText(sites: readonly AdminSite[]): string {
  const anyStale = sites.some((s) => s.stale);
  return lines(
    table([
      ['ID', 'NAME', 'CODE', 'TYPE', 'ROLES', 'APP', 'LAST CONNECTED', 'LAST SYNCED', 'WAITING', 'STATE'],
      ...sites.map((s) => [
        String(s.id),
        cell(s.name),
        cell(s.code),
        s.deviceType,
        cell(s.roles),
        s.appName === null ? '-' : cell(`${s.appName} ${s.appVersion ?? ''}`.trim()),
        time(s.lastConnectedAt),
        time(s.lastSyncedAt),
        cell(s.waiting),
        siteState(s),
      ]),
    ]),
    anyStale && 'STALE: not synced for 30 days (or never).',
  );
}

/** The site's centralised procurement preference (the admin API answers it; null: follows the primary). */
function procurementText(site: SiteJson & { readonly centralisedProcurement?: boolean | null }): string {
  const value = site.centralisedProcurement ?? null;
  if (value === null) return site.roles.includes('primary') ? 'off' : "follows the primary's";
  return value ? 'on' : site.roles.includes('primary') ? 'off' : 'off (local procurement)';
}

/** One site, as `site add|set|unblock|reset-hardware-id` answer it. */
export function siteText(site: SiteJson): string {
  return lines(
    keyValue([
      ['site', `${site.id} ${site.name}`],
      ['code', cell(site.code)],
      ['type', site.deviceType],
      ['roles', cell(site.roles)],
      ['sync interval', `${site.syncIntervalMinutes} min`],
      ['request size', String(site.requestSize)],
      ['server url', cell(site.serverUrl)],
      ['oms central url', cell(site.omsCentralUrl)],
      ['centralised procurement', procurementText(site)],
      ['hardware id', site.hardwareId === null ? 'none (the next device to sign in is bound)' : 'bound'],
      ['failed logins', `${site.failedLoginCount}${site.blocked ? ' (BLOCKED)' : ''}`],
      ['last synced', time(site.lastSyncedAt)],
    ]),
  );
}

export function storesText(stores: readonly StoreView[]): string {
  return lines(
    table([
      ['ID', 'CODE', 'NAME', 'ACTIVE ON', 'COPIES (SITE TYPE)', 'SETTINGS'],
      ...stores.map((s) => [s.id, cell(s.code), cell(s.name), `site ${s.activeSiteId}`, copiesText(s), storeFlags(s)]),
    ]),
  );
}

/** One store, as `store add|copy|set` answer it. */
export function storeText(store: StoreView): string {
  return lines(
    keyValue([
      ['store', `${store.id} ${store.name}`],
      ['code', cell(store.code)],
      ['active on', `site ${store.activeSiteId}`],
      ['copies', copiesText(store)],
      ['dispensary', cell(store.isDispensary)],
      ['transactions in sync', cell(store.includeTransactionsInSync)],
      ['centralised procurement', cell(store.centralisedProcurement)],
    ]),
  );
}

export function moveText(moved: MoveStoreResponse): string {
  return lines(
    keyValue([
      ['store', `${moved.store.id} ${moved.store.name}`],
      ['moved', `site ${moved.fromSiteId} -> site ${moved.toSiteId}`],
      ['copies now', copiesText(moved.store)],
      ['queued', queuedText(moved.queued)],
    ]),
    ...moved.preconditions.map((p) => `note: ${p}`),
  );
}

export function resyncText(answer: ResyncPatientsResponse): string {
  return lines(
    keyValue([
      ['store', answer.storeId],
      ['patients examined', String(answer.examined)],
      ['queued', queuedText(answer.queued)],
    ]),
  );
}

export function issuesText(issues: readonly SyncIssueJson[]): string {
  if (issues.length === 0) return 'no open issues\n';
  return lines(
    table([
      ['KEY', 'RULE', 'SITE', 'RECORD', 'TIMES', 'LAST SEEN', 'ACKNOWLEDGED', 'RETRY'],
      ...issues.map((i) => [
        i.key,
        i.violation.code,
        cell(i.siteId),
        i.record ? `${i.record.type} ${i.record.id}${i.record.storeId ? ` (store ${i.record.storeId})` : ''}` : '-',
        String(i.occurrences),
        time(i.lastSeenAt),
        i.acknowledgedAt ? `by ${i.acknowledgedBy ?? '?'}` : 'no',
        cell(i.retryable),
      ]),
    ]),
    `${count(issues.length, 'open issue')}; \`explain --issue KEY\` for the rule, the message and the fix (or --json).`,
  );
}

/** One issue, as `issue acknowledge` answers it. */
export function issueText(issue: SyncIssueJson): string {
  return lines(
    keyValue([
      ['issue', issue.key],
      ['rule', `${issue.violation.code}: ${issue.violation.rule}`],
      ['message', cell(issue.violation.message)],
      ['fix', cell(issue.violation.fix)],
      ['seen', `${count(issue.occurrences, 'time')}, first ${time(issue.firstSeenAt)}, last ${time(issue.lastSeenAt)}`],
      ['acknowledged', issue.acknowledgedAt ? `${time(issue.acknowledgedAt)} by ${issue.acknowledgedBy ?? '?'}` : 'no'],
      ['retryable', cell(issue.retryable)],
    ]),
  );
}

export function retryText(retried: IssueRetryResponse): string {
  const v = retried.violation;
  return lines(
    keyValue([
      ['issue', retried.key],
      ['outcome', retried.outcome],
      ...(v
        ? ([
            ['rule', `${v.code}: ${v.rule}`],
            ['message', cell(v.message)],
            ['fix', cell(v.fix)],
          ] as const)
        : []),
    ]),
  );
}

export function reportText(report: SyncReport): string {
  const staleSites = report.sites.filter((s) => s.stale).length;
  const staleStores = report.stores.filter((s) => s.stale).length;
  return lines(
    `sync report of ${time(report.generatedAt)} (central clock); stale: not synced for ${report.staleAfterDays} days (or never)`,
    `${count(report.sites.length, 'site')} (${staleSites} stale), ${count(report.stores.length, 'store')} (${staleStores} stale)`,
    '',
    table([
      ['SITE', 'NAME', 'LAST CONNECTED', 'LAST SYNCED', 'WAITING', 'STALE'],
      ...report.sites.map((s) => [String(s.siteId), cell(s.name), time(s.lastConnectedAt), time(s.lastSyncedAt), cell(s.waiting), s.stale ? 'STALE' : '-']),
    ]),
    '',
    report.stores.length === 0
      ? 'no stores'
      : table([
          ['STORE', 'CODE', 'NAME', 'ACTIVE ON', 'LAST SYNCED', 'STALE'],
          ...report.stores.map((s) => [s.storeId, cell(s.code), cell(s.name), `${s.siteId} ${s.siteName}`, time(s.lastSyncedAt), s.stale ? 'STALE' : '-']),
        ]),
  );
}

export function tokensText(tokens: readonly AdminTokenInfoJson[]): string {
  return lines(
    table([
      ['ID', 'ROLE', 'LABEL', 'CREATED', 'ROTATED'],
      ...tokens.map((t) => [t.id, t.role, cell(t.label), time(t.createdAt), t.rotatedAt === null ? '-' : time(t.rotatedAt)]),
    ]),
  );
}

/** A token issued or rotated: its secret, shown this once. */
export function issuedTokenText(token: IssuedTokenJson): string {
  return lines(
    keyValue([
      ['token id', token.id],
      ['role', token.role],
      ['label', cell(token.label)],
      ['secret', token.token],
    ]),
    'The secret is shown only now: keep it (the central keeps only its hash).',
  );
}
