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

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.bySource = new RateLimiterMemory({ points: limits.perSource, duration: limits.windowSeconds, keyPrefix: 'source' });
    this.byName = new RateLimiterMemory({ points: limits.perName, duration: limits.windowSeconds, keyPrefix: 'name' });
  }

  /**
   * Takes one attempt from the source's (and, unless `fromBoundDevice`, the site name's) allowance
   * before the password is hashed, or throws `rate_limited` when it is used up. Taken before the
   * work, so concurrent attempts cannot all pass on the same count; a login that succeeds gives its
   * attempt back (`succeeded`), so only failures use up the allowance.
   */
  async take(source: string, siteName: string, fromBoundDevice: boolean): Promise<void> {
    try {
      await this.bySource.consume(source, 1);
    } catch (refusal) {
      throw this.limited(msBeforeNext(refusal), 'from this address');
    }
    if (fromBoundDevice) return;
    try {
      await this.byName.consume(nameKey(siteName), 1);
    } catch (refusal) {
      await this.bySource.reward(source, 1);
      throw this.limited(msBeforeNext(refusal), 'for this site name from other devices');
    }
  }

  /** Gives back the attempt a successful login took. */
  async succeeded(source: string, siteName: string, fromBoundDevice: boolean): Promise<void> {
    await this.bySource.reward(source, 1);
    if (!fromBoundDevice) await this.byName.reward(nameKey(siteName), 1);
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

function msBeforeNext(refusal: unknown): number {
  if (refusal instanceof Error) throw refusal; // the limiter failed, not a refusal
  return (refusal as { msBeforeNext?: number }).msBeforeNext ?? 1000;
}

function nameKey(siteName: string): string {
  return siteName.slice(0, 200);
}
