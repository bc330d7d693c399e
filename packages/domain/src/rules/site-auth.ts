import { MAX_FAILED_LOGINS, type Site } from '../site';

export const LOGIN_OUTCOMES = ['accepted', 'wrong-password', 'blocked', 'incorrect-hardware-id'] as const;
export type LoginOutcome = (typeof LOGIN_OUTCOMES)[number];

export interface LoginDecision {
  readonly outcome: LoginOutcome;
  /** the site as it must be saved after this attempt (counters, block, bound hardware id) */
  readonly site: Site;
  /** whether `site` differs from the site before: only then is there something to save */
  readonly changed: boolean;
  readonly reason: string;
}

/**
 * A remote site's authentication attempt (seed 003): a wrong password counts, and the
 * MAX_FAILED_LOGINS-th in a row blocks the site until an admin unblocks it; the first successful
 * login binds the device's hardware id, and another device is refused until an admin resets it.
 *
 * So that nobody can turn this against a site: a wrong password from a device that does not present
 * the site's bound hardware id is refused but not counted (only the site's own device can get it
 * blocked), and every wrong password gets the same outcome, `wrong-password`, whether the site is
 * blocked or not and whether it just became blocked: only the right password learns that the site is
 * blocked or bound to another device.
 */
export function decideLogin(
  site: Site,
  attempt: { readonly passwordMatches: boolean; readonly hardwareId: string | null; readonly appName?: string | null; readonly appVersion?: string | null },
): LoginDecision {
  const same = (reason: string, outcome: LoginOutcome): LoginDecision => ({ outcome, site, changed: false, reason });
  const boundElsewhere = site.hardwareId !== null && attempt.hardwareId !== site.hardwareId;
  if (!attempt.passwordMatches) {
    if (site.blocked) return same(`Wrong site name or password for site "${site.name}", which is blocked (not counted).`, 'wrong-password');
    if (boundElsewhere) {
      return same(
        `Wrong site name or password for site "${site.name}" from a device other than the one it is bound to (not counted towards blocking it).`,
        'wrong-password',
      );
    }
    const failedLoginCount = site.failedLoginCount + 1;
    const blocked = failedLoginCount >= MAX_FAILED_LOGINS;
    return {
      outcome: 'wrong-password',
      site: { ...site, failedLoginCount, blocked },
      changed: true,
      reason: blocked
        ? `Wrong site name or password, ${failedLoginCount} times in a row from the site's own device: site "${site.name}" is now blocked until an administrator unblocks it.`
        : `Wrong site name or password (${failedLoginCount} of ${MAX_FAILED_LOGINS} attempts before the site is blocked).`,
    };
  }
  if (site.blocked) {
    return same(`Site "${site.name}" is blocked after ${MAX_FAILED_LOGINS} failed logins: an administrator must unblock it on the central.`, 'blocked');
  }
  if (boundElsewhere) {
    return same(
      `Site "${site.name}" is bound to another device. If this device replaces it, an administrator must reset the site's hardware id on the central.`,
      'incorrect-hardware-id',
    );
  }
  const next: Site = {
    ...site,
    failedLoginCount: 0,
    hardwareId: site.hardwareId ?? attempt.hardwareId,
    appName: attempt.appName ?? site.appName,
    appVersion: attempt.appVersion ?? site.appVersion,
  };
  const changed =
    next.failedLoginCount !== site.failedLoginCount ||
    next.hardwareId !== site.hardwareId ||
    next.appName !== site.appName ||
    next.appVersion !== site.appVersion;
  return {
    outcome: 'accepted',
    site: next,
    changed,
    reason: site.hardwareId === null && attempt.hardwareId ? 'Accepted; this device is now bound to the site.' : 'Accepted.',
  };
}
