import request from 'supertest';
import { ADMIN_TOKENS_SETTING, adminTokenInfoSchema, errorBodySchema, issuedTokenSchema } from '../src/index';
import { adminHeaders, createTestCentral, REMOTE1 } from './central-test-setup';

const errorOf = (body: unknown) => errorBodySchema.parse(body).error;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Seed 003: "Without the permission, a user may still view sites but may not edit them." */
describe('central app: admin and view-only tokens', () => {
  async function withViewer() {
    const central = await createTestCentral();
    const res = await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'district pharmacist' });
    expect(res.status).toBe(201);
    return { central, viewer: issuedTokenSchema.parse(res.body) };
  }

  it('issues a view-only token shown once and kept only as a hash', async () => {
    const { central, viewer } = await withViewer();
    expect(viewer).toMatchObject({ role: 'viewer', label: 'district pharmacist', rotatedAt: null });
    const kept = JSON.stringify(await central.storage.storage.settings.get(ADMIN_TOKENS_SETTING));
    expect(kept).not.toContain(viewer.token);
    const listed = await request(central.app).get('/admin/v1/tokens').set(adminHeaders).expect(200);
    expect(
      adminTokenInfoSchema
        .array()
        .parse(listed.body)
        .map((t) => [t.id, t.role]),
    ).toEqual([
      ['startup', 'admin'],
      [viewer.id, 'viewer'],
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(viewer.token);
    expect((await request(central.app).get('/admin/v1/whoami').set(bearer(viewer.token))).body).toEqual({ role: 'viewer', tokenId: viewer.id });
  });

  it('lets a view-only token read every list and report, and refuses every change with 403 forbidden and what to use', async () => {
    const { central, viewer } = await withViewer();
    for (const path of ['/admin/v1/sites', '/admin/v1/stores', '/admin/v1/issues']) {
      expect((await request(central.app).get(path).set(bearer(viewer.token))).status).toBe(200);
    }
    const changes = [
      request(central.app).post('/admin/v1/sites').send({ name: 'Clinic 9', password: 'pw' }),
      request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).send({ name: 'Renamed' }),
      request(central.app).delete(`/admin/v1/sites/${REMOTE1}`),
      request(central.app).post(`/admin/v1/sites/${REMOTE1}/unblock`),
      request(central.app).post('/admin/v1/records').send({ records: [] }),
      request(central.app).post('/admin/v1/tokens').send({ role: 'admin', label: 'escalate' }),
    ];
    for (const change of changes) {
      const res = await change.set(bearer(viewer.token));
      expect(res.status).toBe(403);
      expect(errorOf(res.body)).toMatchObject({ code: 'forbidden', data: { role: 'viewer', tokenId: viewer.id } });
      expect(errorOf(res.body).message).toContain('view-only');
      expect(errorOf(res.body).message).toContain('Use an admin token');
    }
    // nothing of it took effect
    expect((await central.topology()).site(REMOTE1)?.name).toBe('Remote site 1');
    expect((await central.topology()).sites.some((s) => s.name === 'Clinic 9')).toBe(false);
    // reads that hand out secrets or a site's whole data are admin only
    expect((await request(central.app).get('/admin/v1/tokens').set(bearer(viewer.token))).status).toBe(403);
    expect((await request(central.app).get(`/admin/v1/sites/${REMOTE1}/export`).set(bearer(viewer.token))).status).toBe(403);
  });

  it('rotates a token (old secret refused at once, same id and role) and revokes one; the startup token cannot be revoked through the API', async () => {
    const { central, viewer } = await withViewer();
    const rotated = issuedTokenSchema.parse((await request(central.app).post(`/admin/v1/tokens/${viewer.id}/rotate`).set(adminHeaders).expect(200)).body);
    expect(rotated).toMatchObject({ id: viewer.id, role: 'viewer' });
    expect(rotated.rotatedAt).not.toBeNull();
    expect(errorOf((await request(central.app).get('/admin/v1/sites').set(bearer(viewer.token))).body).code).toBe('admin_auth_failed');
    expect((await request(central.app).get('/admin/v1/sites').set(bearer(rotated.token))).status).toBe(200);

    expect((await request(central.app).delete(`/admin/v1/tokens/${viewer.id}`).set(adminHeaders).expect(200)).body).toEqual({ revoked: viewer.id });
    expect((await request(central.app).get('/admin/v1/sites').set(bearer(rotated.token))).status).toBe(401);
    const startup = await request(central.app).delete('/admin/v1/tokens/startup').set(adminHeaders);
    expect(startup.status).toBe(404);
    expect(errorOf(startup.body).message).toContain('restarting the central');
  });

  it('an issued admin token may change the topology and issue tokens', async () => {
    const central = await createTestCentral();
    const second = issuedTokenSchema.parse(
      (await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'admin', label: 'second admin' }).expect(201)).body,
    );
    await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(bearer(second.token)).send({ code: 'R1' }).expect(200);
    await request(central.app).post('/admin/v1/tokens').set(bearer(second.token)).send({ role: 'viewer', label: 'v' }).expect(201);
  });
});
