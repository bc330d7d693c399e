import { RateLimiterMemory } from 'rate-limiter-flexible';
import { SyncHttpError } from './error-codes';

/** How many failed sync logins are allowed per window before more attempts are refused unchecked. */
export interface LoginLimits {
  /** failed logins per source address (default 30) */
  readonly perSource: number;
  /** failed logins per site name from devices other than the site's bound one (default 10) */
  readonly perName: number;
  /** the window, in seconds (default 60) */
  readonly windowSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perSource: 30, perName: 10, windowSeconds: 60 };

/**
 * Bounds the password-hashing work failed logins can cause: per source address, and per site name
 * for requests that do not come from the site's bound device, so a flood of bad logins for a site's
 * name never locks the site's own device out. Over a limit, a login is refused with 429
 * `rate_limited` before any password is checked. Counters live in this process.
 */
export class LoginThrottle {
  private readonly bySource: RateLimiterMemory;
  private readonly byName: RateLimiterMemory;

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.bySource = new RateLimiterMemory({ points: limits.perSource, duration: limits.windowSeconds, keyPrefix: 'source' });
    this.byName = new RateLimiterMemory({ points: limits.perName, duration: limits.windowSeconds, keyPrefix: 'name' });
  }

  /** Throws `rate_limited` when the source, or (unless `fromBoundDevice`) the site name, used up its failures. */
  async check(source: string, siteName: string, fromBoundDevice: boolean): Promise<void> {
    const bySource = await this.bySource.get(source);
    if (bySource && bySource.consumedPoints >= this.limits.perSource) throw this.limited(bySource.msBeforeNext, 'from this address');
    if (fromBoundDevice) return;
    const byName = await this.byName.get(nameKey(siteName));
    if (byName && byName.consumedPoints >= this.limits.perName) throw this.limited(byName.msBeforeNext, 'for this site name from other devices');
  }

  /** Counts a failed login. */
  async failed(source: string, siteName: string, fromBoundDevice: boolean): Promise<void> {
    await this.bySource.penalty(source, 1);
    if (!fromBoundDevice) await this.byName.penalty(nameKey(siteName), 1);
  }

  private limited(msBeforeNext: number, where: string): SyncHttpError {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return SyncHttpError.of(
      'rate_limited',
      `Too many failed logins ${where}: try again in ${seconds} s. A site whose own device keeps failing has a wrong password configured.`,
      { retryAfterSeconds: seconds },
    );
  }
}

function nameKey(siteName: string): string {
  return siteName.slice(0, 200);
}
