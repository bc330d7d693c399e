import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCentralApp, ScryptPasswordHasher, sha256Hex } from '@sitesync/http';
import { createInMemoryStorage, ManualClock, seedExampleTopology } from '@sitesync/testkit';
import { composeRemoteSite, type RemoteComposition } from '../src/container';
import { checkCentralUrl } from '../src/remote-config';

describe('a remote refuses to send its credentials in clear, and trusts a private CA only when told', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let remote: RemoteComposition | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sitesync-tls-'));
    // a self-signed certificate for 127.0.0.1: its own CA
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=sitesync test central',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const storage = createInMemoryStorage();
    const topology = seedExampleTopology();
    await storage.storage.topology.save(topology);
    const hasher = new ScryptPasswordHasher({ cost: 1024 });
    await storage.storage.topology.setPasswordHash(3, await hasher.hash(sha256Hex('secret')));
    const app = createCentralApp({ storage, hasher, clock: new ManualClock(), adminToken: 'admin' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await remote?.close();
    remote = undefined;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const credentials = { siteName: 'Remote site 2', passwordSha256: sha256Hex('secret'), hardwareId: 'device' };

  it('https:// with the private CA given (--ca-file) works; without it the certificate is refused', async () => {
    remote = await composeRemoteSite(join(dir, 'no-ca.sqlite'));
    await expect(remote.site.init({ centralUrl: url, ...credentials })).rejects.toThrow();
    expect(await remote.site.config()).toBeNull();
    await remote.close();
    remote = await composeRemoteSite(join(dir, 'with-ca.sqlite'));
    const config = await remote.site.init({ centralUrl: url, ...credentials, caFile: join(dir, 'cert.pem') });
    expect(config).toMatchObject({ siteId: 3, caFile: join(dir, 'cert.pem') });
    await expect(remote.site.sync()).resolves.toMatchObject({ refused: 0 });
  });

  it('plain http:// to another machine is refused before anything is sent, unless --insecure', async () => {
    let calls = 0;
    remote = await composeRemoteSite(join(dir, 'http.sqlite'), {
      gatewayFor: () => {
        calls++;
        throw new Error('no network in this test');
      },
    });
    await expect(remote.site.init({ centralUrl: 'http://central.example.org:8080', ...credentials })).rejects.toThrow(/unencrypted.*--insecure/);
    expect(calls).toBe(0);
    await expect(remote.site.init({ centralUrl: 'http://central.example.org:8080', ...credentials, insecure: true })).rejects.toThrow(
      'no network in this test',
    );
    expect(calls).toBe(1);
    expect(() => checkCentralUrl('http://127.0.0.1:8080')).not.toThrow();
    expect(() => checkCentralUrl('http://localhost:8080')).not.toThrow();
    expect(() => checkCentralUrl('ftp://central')).toThrow(/https:\/\//);
    expect(() => checkCentralUrl('central:8080')).toThrow();
  });
});
