import type { OmsCentralOutcome, OmsCentralState } from './oms-central-link';
import type { CentralSyncGateway, SyncIssue } from '@sitesync/domain';

/**
 * The setting under which the remote keeps its configuration, credentials included: in the
 * settings store, where no record API (`record list`, `record put`) reads or writes it.
 */
export const CONFIG_SETTING = 'remote-site';

export interface RemoteConfig {
  readonly centralUrl: string;
  readonly siteName: string;
  /** what the site authenticates with: the SHA-256 hex of its password, never the password */
  readonly passwordSha256: string;
  /**
   * The hardware id this file last reached the central with. With a device (the CLI) it is kept for
   * messages only ("this file was last used on another device"): the id sent is the device's,
   * computed at every run, so a copied file presents its new machine's id. Without one (tests,
   * services that name their devices) it is the id given to init, and the one sent.
   */
  readonly hardwareId: string;
  readonly siteId: number;
  readonly requestSize: number;
  readonly lastSyncedAt: string | null;
  /** plain http:// to a central that is not on this machine was allowed explicitly (`--insecure`) */
  readonly insecure?: boolean;
  /** a PEM file of the CA that signed the central's certificate, for https:// with a private CA */
  readonly caFile?: string | null;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Refuses a central URL that is not http(s), and plain http:// to a central that is not on this
 * machine unless `insecure`: the site's credentials and records would cross the network in clear.
 */
export function checkCentralUrl(url: string, insecure = false): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`The central URL "${url}" is not a URL: give it as https://host:port.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`The central URL "${url}" must start with https:// (or http://).`);
  if (parsed.protocol === 'http:' && !LOOPBACK.test(parsed.hostname) && !insecure) {
    throw new Error(
      `The central URL "${url}" is plain http:// to another machine: the site's credentials and records would cross the network unencrypted. ` +
        'Use https:// (with --ca-file FILE for a central whose certificate a private CA signed), or pass --insecure to accept it on a network you trust.',
    );
  }
}

export interface RemoteStatus {
  readonly siteId: number;
  readonly siteName: string;
  readonly centralUrl: string;
  /** own changes not yet pushed */
  readonly waitingToPush: number;
  readonly lastSyncedAt: string | null;
  /** records the central refused, and transfers that could not be completed, with why */
  readonly failed: readonly SyncIssue[];
  /** pulled records this site could not store, kept with their errors (also among `failed`) */
  readonly pullFailures: number;
  /**
   * what waits for this site on the central (its resync queue and the feed after this file's
   * cursor), or, when the central could not be asked, `waiting: null` and why
   */
  readonly incoming: { readonly waiting: number } | { readonly waiting: null; readonly error: string };
  /** this site is the Open mSupply central server (`Open mSupply central server`) */
  readonly role?: string;
  /** the last exchange with the Open mSupply central server (null when no site is flagged as one) */
  readonly omsCentral: OmsCentralState | null;
}

/** How long `run` waits before it tries credentials the central refused again (unless they are updated meanwhile). */
export const CREDENTIALS_RETRY_MS = 60 * 60_000;

/** How long `status` waits for the central's count of incoming records. */
export const STATUS_TIMEOUT_MS = 10_000;

export interface SyncOutcome {
  readonly pushed: number;
  readonly pulled: number;
  readonly refused: number;
  /** pulled records this site could not store (kept with their errors, see status) */
  readonly pullFailures: number;
  /** the central said a batch id of this file was used before with other records (a restored or copied file): sent again under a new one */
  readonly namespaceRenewals: number;
  readonly transfersCreated: number;
  readonly transfersNumbered: number;
  /** the exchange with the Open mSupply central server after the cycle (null when no site is flagged as one) */
  readonly omsCentral: OmsCentralOutcome | null;
}

/** What a gateway to the central is made from: the file's (or the new) credentials and this device's hardware id. */
export type GatewayConfig = Pick<RemoteConfig, 'centralUrl' | 'siteName' | 'passwordSha256' | 'hardwareId' | 'caFile'> & {
  /** per request (default: the gateway's own) */
  readonly timeoutMs?: number;
};

/** The central's view a remote uses; `status` (optional) counts what waits for the site there, for `status`. */
export type RemoteGateway = CentralSyncGateway & {
  status?(cursor: bigint): Promise<{ readonly waiting: number }>;
  /** what the server says it is (`GET /health`): the Open mSupply central server names its role and site */
  health?(): Promise<{ readonly role?: string | undefined; readonly siteId?: number | undefined }>;
};

export type GatewayFactory = (config: GatewayConfig) => RemoteGateway;

/** The credentials `update` may change (at least one); each is checked with the central before anything is saved. */
export interface RemoteUpdate {
  readonly siteName?: string;
  readonly centralUrl?: string;
  readonly passwordSha256?: string;
  readonly insecure?: boolean;
  readonly caFile?: string | null;
}
