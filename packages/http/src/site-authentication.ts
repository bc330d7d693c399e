import { createHash, randomBytes } from 'node:crypto';
import {
  decideLogin,
  type CentralTopologySource,
  type LoginDecision,
  type PasswordHasher,
  type Site,
  type SiteConnectionUpdate,
  type SiteId,
  type TopologyRepository,
} from '@sitesync/domain';
import type { Request } from 'express';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import type { LoginThrottle } from './login-throttle';
import { HEADERS } from './wire';

/** How long, and for how many credentials, a successful password check is remembered. */
const VERIFIED_CACHE_MS = 10 * 60 * 1000;
const VERIFIED_CACHE_SIZE = 1_000;
/** Times a login's decision is taken again when another login wrote the site in between. */
const LOGIN_WRITE_TRIES = 10;

/** The fields a login decision reads and writes: it is written only while they are as it read them. */
function loginFieldsOf(site: Site): SiteConnectionUpdate {
  return { failedLoginCount: site.failedLoginCount, blocked: site.blocked, hardwareId: site.hardwareId, appName: site.appName, appVersion: site.appVersion };
}

export interface SiteAuth {
  /** the site as stored after this login, every field current */
  readonly site: Site;
}

export interface SiteAuthenticatorDeps {
  readonly hasher: PasswordHasher;
  readonly logger: CentralAppLogger;
  readonly apiVersions: { readonly min: number; readonly max: number };
  readonly topologies: CentralTopologySource;
  readonly repository: TopologyRepository;
  readonly throttle: LoginThrottle;
}

/**
 * How a sync request proves which site sent it (docs/sync-api.md "Authentication"): HTTP Basic with
 * the site name and the SHA-256 hex of its password, the API version, the device's hardware id;
 * failed-login limits first, the login rules of the domain (`decideLogin`) last. Returns the
 * function that authenticates a request, or throws the API error for it.
 */
export function siteAuthenticator(deps: SiteAuthenticatorDeps): (req: Request) => Promise<SiteAuth> {
  const { hasher, logger, apiVersions, topologies, repository, throttle } = deps;
  let dummyHash: Promise<string> | null = null;
  /** digest of (site, stored hash, credential) -> until when a successful check holds */
  const verified = new Map<string, number>();

  function checkApiVersion(req: Request): void {
    const header = req.get(HEADERS.apiVersion);
    const version = header !== undefined && /^\d{1,6}$/.test(header.trim()) ? Number(header.trim()) : null;
    if (version !== null && version >= apiVersions.min && version <= apiVersions.max) return;
    const supported = apiVersions.min === apiVersions.max ? `version ${apiVersions.min}` : `versions ${apiVersions.min} to ${apiVersions.max}`;
    const sent = header === undefined ? `no ${HEADERS.apiVersion} header` : `version "${header}"`;
    throw SyncHttpError.of(
      'api_version_incompatible',
      `This central supports sync API ${supported}; the site sent ${sent}. ` +
        (version !== null && version > apiVersions.max
          ? 'The site is newer than the central: upgrade the central server.'
          : "Upgrade the site's app to a version that speaks a supported sync API version (or upgrade the central if the site is newer)."),
      { min: apiVersions.min, max: apiVersions.max, received: version },
    );
  }

  /**
   * Scrypt is slow on purpose, and a site sends its credentials with every request (dozens per
   * sync): a successful check is remembered for a while, keyed by a digest of the site, its stored
   * hash and the credential sent, so a new password (a new hash) is checked again at once. Failures
   * are never remembered.
   */
  const verifiedKey = (siteId: SiteId, password: string, hash: string): string =>
    createHash('sha256').update(`${siteId}\u0000${hash}\u0000${password}`, 'utf8').digest('base64');

  /** Whether these credentials were checked successfully a short while ago (no scrypt needed). */
  function recentlyVerified(siteId: SiteId, password: string, hash: string): boolean {
    const until = verified.get(verifiedKey(siteId, password, hash));
    return until !== undefined && until > Date.now();
  }

  async function verifyPassword(siteId: SiteId, password: string, hash: string): Promise<boolean> {
    if (recentlyVerified(siteId, password, hash)) return true;
    const key = verifiedKey(siteId, password, hash);
    verified.delete(key);
    const matches = await hasher.verify(password, hash);
    if (matches) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(key, Date.now() + VERIFIED_CACHE_MS);
    }
    return matches;
  }

  /** A failed check takes as long as a real one, so that response times do not tell which site names exist. */
  async function verifyAgainstDummy(password: string): Promise<void> {
    dummyHash ??= hasher.hash(randomBytes(16).toString('hex'));
    await hasher.verify(password, await dummyHash);
  }

  const authFailed = (): SyncHttpError =>
    SyncHttpError.of(
      'site_auth_failed',
      'Wrong site name or password. Check both on the site; too many failed logins in a row block the site until an administrator unblocks it on the central.',
    );

  async function authenticateSite(req: Request): Promise<SiteAuth> {
    const credentials = parseBasicAuth(req.get('authorization'));
    checkApiVersion(req);
    const hardwareId = headerValue(req, HEADERS.hardwareId);
    const appName = headerValue(req, HEADERS.appName);
    const appVersion = headerValue(req, HEADERS.appVersion);

    // By name in the topology this process knows (its stored row is checked below: a site renamed or
    // removed elsewhere is refused); a name it does not know is looked up in the stored version (a
    // site added or renamed by another process).
    let candidate = topologies.lastKnown()?.siteByName(credentials.siteName);
    // as stored now: a device bound through another process counts as the site's own at once
    let stored = candidate ? await repository.site(candidate.id) : null;
    if (!stored || stored.name !== candidate?.name) {
      candidate = (await topologies.load()).siteByName(credentials.siteName);
      stored = candidate ? await repository.site(candidate.id) : null;
    }
    const source = req.ip ?? 'unknown';
    const fromBoundDevice = stored !== null && stored.hardwareId !== null && hardwareId === stored.hardwareId;
    const hash = candidate ? await repository.passwordHash(candidate.id) : null;
    // The limits bound the hashing work of failed logins: credentials checked a moment ago need none,
    // so a site keeps syncing even when its address (a shared proxy) is over its limit.
    const password = normaliseSha256(credentials.password);
    const limited = !(candidate && hash !== null && recentlyVerified(candidate.id, password, hash));
    if (limited) await throttle.take(source, credentials.siteName, fromBoundDevice);
    let passwordMatches = false;
    if (candidate && hash !== null) passwordMatches = await verifyPassword(candidate.id, password, hash);
    else await verifyAgainstDummy(credentials.password);
    if (limited && passwordMatches) await throttle.succeeded(source, credentials.siteName, fromBoundDevice);
    if (!candidate) {
      logger.warn({ siteName: credentials.siteName, ip: req.ip }, 'sync login refused: unknown site name');
      throw authFailed();
    }

    // The decision is taken on the site as stored now (another central process may have counted a
    // failed login, blocked it or bound its device), and written only if the site is still as read:
    // otherwise it is read and decided again, so two logins never overwrite each other's count.
    let decision: LoginDecision;
    for (let tries = 1; ; tries++) {
      const site = stored ?? (await repository.site(candidate.id));
      stored = null; // read again on the next try
      // renamed or removed while the password was being checked
      if (!site || site.name !== candidate.name) throw authFailed();
      decision = decideLogin(site, { passwordMatches, hardwareId, appName, appVersion });
      if (!decision.changed) break;
      // only what a login decides (not the sync times, which another request may have written since)
      if (await repository.updateSite(site.id, loginFieldsOf(decision.site), { ifUnchanged: loginFieldsOf(site) })) break;
      if (tries >= LOGIN_WRITE_TRIES)
        throw SyncHttpError.of('rate_limited', `Site ${site.id} is logging in from several requests at once: try again.`, { retryAfterSeconds: 1 });
    }
    if (decision.outcome === 'accepted') return { site: decision.site };
    logger.warn({ siteId: candidate.id, siteName: candidate.name, outcome: decision.outcome, ip: req.ip }, `sync login refused: ${decision.reason}`);
    switch (decision.outcome) {
      case 'wrong-password':
        throw authFailed();
      case 'blocked':
        throw SyncHttpError.of('site_blocked', decision.reason, { siteId: candidate.id });
      case 'incorrect-hardware-id':
        throw SyncHttpError.of('site_incorrect_hardware_id', decision.reason, { siteId: candidate.id });
    }
  }

  return authenticateSite;
}

/** A SHA-256 hex sent in upper case still matches. */
function normaliseSha256(password: string): string {
  return /^[0-9a-fA-F]{64}$/.test(password) ? password.toLowerCase() : password;
}

function headerValue(req: Request, name: string): string | null {
  const value = req.get(name)?.trim();
  if (value === undefined || value === '') return null;
  if (value.length > 200)
    throw SyncHttpError.of('validation_failed', `Header ${name} is longer than 200 characters.`, [{ path: name, message: 'at most 200 characters' }]);
  return value;
}

function parseBasicAuth(header: string | undefined): { readonly siteName: string; readonly password: string } {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  // The password (a SHA-256 hex) has no colon; a site name may.
  const colon = decoded.lastIndexOf(':');
  if (colon <= 0) {
    throw SyncHttpError.of(
      'auth_required',
      header === undefined
        ? 'Sync requests need "Authorization: Basic base64(<site name>:<sha256 hex of the site password>)".'
        : 'The Authorization header is not "Basic base64(<site name>:<sha256 hex of the site password>)".',
    );
  }
  return { siteName: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
