import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCentralServer } from '@sitesync/central-server';
import { readSecret, ScryptPasswordHasher } from '@sitesync/http';
import { pino } from 'pino';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('the central keeps its files to its owner, and takes secrets from files and the environment', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sitesync-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes its data directory 0700 and the admin token 0600; tightens a directory open to others, with a warning', async () => {
    const dataDir = join(dir, 'central-data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const central = await startCentralServer({ port: 0, dataDir, logger, hasher: new ScryptPasswordHasher({ cost: 1024 }) });
    try {
      expect(modeOf(dataDir)).toBe(0o700);
      expect(modeOf(join(dataDir, 'admin-token'))).toBe(0o600);
      expect(warnings.join('')).toContain('the data directory was open to other users');
    } finally {
      await central.close();
    }
  }, 60_000);

  it('reads a secret from its file first, then the environment, then the flag; with none and no terminal it names every way', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'from-the-file\n', { mode: 0o600 });
    const env = 'SITESYNC_TEST_SECRET';
    process.env[env] = 'from-the-environment';
    try {
      expect(await readSecret('site password', { file, envName: env, flag: 'from-the-flag', flagName: '--password' })).toBe('from-the-file');
      expect(await readSecret('site password', { envName: env, flag: 'from-the-flag', flagName: '--password' })).toBe('from-the-environment');
      delete process.env[env];
      expect(await readSecret('site password', { envName: env, flag: 'from-the-flag', flagName: '--password' })).toBe('from-the-flag');
      await expect(readSecret('site password', { envName: env, flagName: '--password' })).rejects.toThrow(
        /No site password given: .*--password-file FILE, set SITESYNC_TEST_SECRET, or run this on a terminal/,
      );
    } finally {
      delete process.env[env];
    }
  });
});
