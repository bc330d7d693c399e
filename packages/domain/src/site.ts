import type { DeviceType, SiteRole } from './vocabulary';

/** Site ids are assigned by the central and read-only (seed 003, "Site ID"). */
export type SiteId = number;

export const MIN_SYNC_INTERVAL_MINUTES = 1;
export const MIN_REQUEST_SIZE = 10;
export const MAX_REQUEST_SIZE = 5000;
export const DEFAULT_REQUEST_SIZE = 500;
export const DEFAULT_SYNC_INTERVAL_MINUTES = 10;
/** Failed logins in a row after which a site is blocked until an admin unblocks it. */
export const MAX_FAILED_LOGINS = 5;

/**
 * A sync site (seed 003). The password is not part of it: only its hash is kept, by the topology
 * repository, and it is never returned by any read.
 */
export interface Site {
  readonly id: SiteId;
  /** free text, editable, no effect on sync */
  readonly code: string;
  /** used to authenticate: renaming an active site stops it syncing until the remote is updated */
  readonly name: string;
  readonly roles: readonly SiteRole[];
  /** the Open mSupply central server URL that remotes learn from the central; set iff role oms-central */
  readonly omsCentralUrl: string | null;
  readonly deviceType: DeviceType;
  readonly appName: string | null;
  readonly appVersion: string | null;
  /** set by the first successful authentication; other devices are refused until an admin resets it */
  readonly hardwareId: string | null;
  readonly syncIntervalMinutes: number;
  /** records per request, auto-adjusted between MIN_REQUEST_SIZE and MAX_REQUEST_SIZE */
  readonly requestSize: number;
  readonly serverUrl: string | null;
  readonly failedLoginCount: number;
  readonly blocked: boolean;
  readonly lastSyncedAt: Date | null;
  /** when the site last started a sync cycle (asked for its site info), whether or not it caught up */
  readonly lastConnectedAt?: Date | null;
  /**
   * The centralised procurement preference (seed 002). On the primary it is the network's: switched
   * on there, purchase orders and payments of every store are entered on the primary. On any other
   * site `null` follows the primary, and `false` (or `true`) overrides it for the stores active there
   * (local procurement). See `withProcurementPreference`.
   */
  readonly centralisedProcurement?: boolean | null;
}

/** What a caller must give to describe a site; everything else has the documented default. */
export type SiteInput = Pick<Site, 'id' | 'name'> & Partial<Omit<Site, 'id' | 'name'>>;

export function siteFromInput(input: SiteInput): Site {
  return {
    id: input.id,
    code: input.code ?? String(input.id),
    name: input.name,
    roles: input.roles ?? [],
    omsCentralUrl: input.omsCentralUrl ?? null,
    deviceType: input.deviceType ?? 'desktop',
    appName: input.appName ?? null,
    appVersion: input.appVersion ?? null,
    hardwareId: input.hardwareId ?? null,
    syncIntervalMinutes: input.syncIntervalMinutes ?? DEFAULT_SYNC_INTERVAL_MINUTES,
    requestSize: input.requestSize ?? DEFAULT_REQUEST_SIZE,
    serverUrl: input.serverUrl ?? null,
    failedLoginCount: input.failedLoginCount ?? 0,
    blocked: input.blocked ?? false,
    lastSyncedAt: input.lastSyncedAt ?? null,
    lastConnectedAt: input.lastConnectedAt ?? null,
    centralisedProcurement: input.centralisedProcurement ?? null,
  };
}

export function hasRole(site: Site, role: SiteRole): boolean {
  return site.roles.includes(role);
}

/** "Central server 1 (Sync server)": how sites are named in every reason and error. */
export function describeSite(site: Site): string {
  const roles = site.roles.length > 0 ? `, ${site.roles.join(' + ')}` : '';
  return `site ${site.id} "${site.name}"${roles}`;
}
