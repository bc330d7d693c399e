import { createHash } from 'node:crypto';
import type { CentralTopologySource, SiteId } from '@sitesync/domain';
import type { Request } from 'express';
import { isSyncErrorCode, SyncHttpError } from './error-codes';
import { JsonHttpClient } from './http-json-client';
import type { LoginThrottle } from './login-throttle';
import type { SiteAuth } from './site-authentication';
import { HEADERS, siteInfoResponseSchema } from './wire';

/** How long a site the mSupply central accepted is taken without asking again. */
const VERIFIED_MS = 60_000;
const VERIFIED_CACHE_SIZE = 1_000;
/** The headers of a sync request that prove who sent it: passed on to the mSupply central as they came. */
const CREDENTIAL_HEADERS = ['authorization', HEADERS.hardwareId, HEADERS.apiVersion, HEADERS.appName, HEADERS.appVersion] as const;

export interface CentralSiteVerifierDeps {
  /** the mSupply central's URL (the one this site syncs with) */
  readonly centralUrl: () => string;
  /** the Open mSupply central's topology (the one it learnt from the mSupply central) */
  readonly topologies: CentralTopologySource;
  readonly throttle: LoginThrottle;
  /** takes the topology from the mSupply central again (a site it does not know yet may have been added since) */
  readonly refreshTopology?: () => Promise<void>;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/**
 * How the Open mSupply central server knows which site sent a sync request: it holds no site's
 * password, so it asks the mSupply central (`GET /sync/v1/site` with the request's own credentials:
 * name and password hash, hardware id, API version). The site the central answers for is the site
 * of the request; a refusal (wrong password, another device, a blocked site) is answered with the
 * central's own code and message. An accepted site is remembered for a minute (a cycle makes a few
 * requests); failures are never remembered, and count towards the per-address login limit here
 * before they reach the central.
 */
export function centralSiteVerifier(deps: CentralSiteVerifierDeps): (req: Request) => Promise<SiteAuth> {
  const now = deps.now ?? Date.now;
  const verified = new Map<string, { readonly siteId: SiteId; readonly until: number }>();

  return async (req) => {
    if (req.get('authorization') === undefined) {
      throw SyncHttpError.of('auth_required', 'A sync request needs HTTP Basic authentication with the site name and the SHA-256 hex of its password.');
    }
    const headers: Record<string, string> = {};
    for (const name of CREDENTIAL_HEADERS) {
      const value = req.get(name);
      if (value !== undefined) headers[name] = value;
    }
    const key = createHash('sha256').update(JSON.stringify(headers), 'utf8').digest('base64');
    const held = verified.get(key);
    const siteId = held && held.until > now() ? held.siteId : await ask(key, headers, req.ip ?? 'unknown');
    let site = (await deps.topologies.load()).site(siteId);
    if (!site && deps.refreshTopology) {
      await deps.refreshTopology().catch(() => undefined);
      site = (await deps.topologies.load()).site(siteId);
    }
    if (!site) {
      throw SyncHttpError.of(
        'not_initialised',
        `The Open mSupply central server does not know site ${siteId} yet: it learns the sites from the mSupply central at its own next sync. Try again after it.`,
      );
    }
    return { site };
  };

  async function ask(key: string, headers: Record<string, string>, source: string): Promise<SiteId> {
    const name = basicName(headers['authorization']!);
    await deps.throttle.take(source, name, false);
    const url = deps.centralUrl();
    const client = new JsonHttpClient({
      baseUrl: url,
      timeoutMs: deps.timeoutMs ?? 10_000,
      headers: () => headers,
      ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
    });
    let siteId: SiteId;
    try {
      siteId = (await client.request('GET', '/sync/v1/site', siteInfoResponseSchema)).siteId;
    } catch (error) {
      if (error instanceof SyncHttpError && isSyncErrorCode(error.code) && error.status < 500) {
        throw new SyncHttpError(error.code, error.status, `The mSupply central refused these credentials: ${error.message}`, error.data);
      }
      throw SyncHttpError.of(
        'central_unavailable',
        `The Open mSupply central server cannot check this site's credentials with the mSupply central at ${url}: ${error instanceof Error ? error.message : String(error)}. Nothing was done; try again later.`,
        { centralUrl: url },
      );
    }
    await deps.throttle.succeeded(source, name, false);
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
    verified.set(key, { siteId, until: now() + VERIFIED_MS });
    return siteId;
  }
}

function basicName(authorization: string): string {
  const match = /^Basic\s+(.+)$/i.exec(authorization.trim());
  if (!match) throw SyncHttpError.of('auth_required', 'A sync request needs HTTP Basic authentication with the site name and the SHA-256 hex of its password.');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}
