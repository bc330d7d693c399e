import { decideLogin, MAX_FAILED_LOGINS, siteFromInput } from '@sitesync/domain';

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
    expect(last).toMatchObject({ outcome: 'blocked', site: { blocked: true } });
    expect(decideLogin(last.site, { passwordMatches: true, hardwareId: null })).toMatchObject({ outcome: 'blocked', changed: false });
    const unblocked = { ...last.site, blocked: false, failedLoginCount: 0 };
    expect(decideLogin(unblocked, { passwordMatches: true, hardwareId: null }).outcome).toBe('accepted');
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
