import { decideLogin, MAX_FAILED_LOGINS, siteFromInput, type Site } from '@sitesync/domain';

const site = siteFromInput({ id: 2, name: 'Remote site 1' });

describe('site login rules (seed 003)', () => {
  it('binds the hardware id of the first device that logs in', () => {
    const first = decideLogin(site, { passwordMatches: true, hardwareId: 'tablet-1', appName: 'sitesync-remote', appVersion: '0.1.0' });
    expect(first).toMatchObject({ outcome: 'accepted', changed: true, site: { hardwareId: 'tablet-1', appName: 'sitesync-remote' } });
    expect(decideLogin(first.site, { passwordMatches: true, hardwareId: 'tablet-1' })).toMatchObject({ outcome: 'accepted' });
    const other = decideLogin(first.site, { passwordMatches: true, hardwareId: 'laptop-9' });
    expect(other).toMatchObject({ outcome: 'incorrect-hardware-id', changed: false });
    expect(other.reason).toMatch(/administrator must reset the site's hardware id/);
  });

  it(`blocks the site after ${MAX_FAILED_LOGINS} wrong passwords in a row, and a right one does not get through until unblocked`, () => {
    let current = site;
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
      const d = decideLogin(current, { passwordMatches: false, hardwareId: null });
      expect(d).toMatchObject({ outcome: 'wrong-password', site: { failedLoginCount: i, blocked: false } });
      current = d.site;
    }
    const last = decideLogin(current, { passwordMatches: false, hardwareId: null });
    // the attempt that blocks the site is answered like any wrong password: only the right one learns it is blocked
    expect(last).toMatchObject({ outcome: 'wrong-password', site: { blocked: true } });
    expect(decideLogin(last.site, { passwordMatches: false, hardwareId: null })).toMatchObject({ outcome: 'wrong-password', changed: false });
    expect(decideLogin(last.site, { passwordMatches: true, hardwareId: null })).toMatchObject({ outcome: 'blocked', changed: false });
    const unblocked = { ...last.site, blocked: false, failedLoginCount: 0 };
    expect(decideLogin(unblocked, { passwordMatches: true, hardwareId: null }).outcome).toBe('accepted');
  });

  it('wrong passwords from a device other than the bound one are refused and never counted: nobody else can block the site', () => {
    const bound: Site = { ...site, hardwareId: 'tablet-1' };
    let current = bound;
    for (let i = 0; i < MAX_FAILED_LOGINS * 3; i++) {
      const d = decideLogin(current, { passwordMatches: false, hardwareId: i % 2 === 0 ? 'attacker' : null });
      expect(d).toMatchObject({ outcome: 'wrong-password', changed: false, site: { failedLoginCount: 0, blocked: false } });
      current = d.site;
    }
    expect(decideLogin(current, { passwordMatches: true, hardwareId: 'tablet-1' }).outcome).toBe('accepted');
    // the bound device's own wrong passwords still count
    expect(decideLogin(bound, { passwordMatches: false, hardwareId: 'tablet-1' })).toMatchObject({ changed: true, site: { failedLoginCount: 1 } });
  });

  it('a successful login resets the failed-login count', () => {
    const twice = { ...site, failedLoginCount: 2 };
    expect(decideLogin(twice, { passwordMatches: true, hardwareId: null })).toMatchObject({
      outcome: 'accepted',
      changed: true,
      site: { failedLoginCount: 0 },
    });
  });
});
