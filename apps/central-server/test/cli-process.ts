import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncRecord } from '@sitesync/domain';
import { HEADERS, sha256Hex, SYNC_API_VERSION } from '@sitesync/http';

/** The apps' CLIs as real processes, for end-to-end tests that use them as an operator would. */
export const ROOT = join(__dirname, '..', '..', '..');
export const CENTRAL_MAIN = join(ROOT, 'apps', 'central-server', 'dist', 'main.js');
export const REMOTE_MAIN = join(ROOT, 'apps', 'remote-site', 'dist', 'main.js');

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One of the apps' CLIs (built by `npx tsc -b`) as a real process, run to its end. */
export function cli(main: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  if (!existsSync(main)) throw new Error(`${main} is missing: build first with \`npx tsc -b\``);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...env };
  delete childEnv['NODE_OPTIONS'];
  const child = spawn(process.execPath, [main, ...args], { env: childEnv, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** What a run printed, or its exit code and stderr thrown. */
export async function ok(run: Promise<Run>): Promise<string> {
  const { code, stdout, stderr } = await run;
  if (code !== 0) throw new Error(`exited ${String(code)}: ${stderr}`);
  return stdout;
}

/** `sitesync-central serve` on embedded PGlite in `dataDir` (or on the Postgres server at `databaseUrl`), on a free port, as a real process. */
export async function startCentralProcess(
  dataDir: string,
  adminToken: string,
  options: { readonly databaseUrl?: string } = {},
): Promise<{ readonly url: string; stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env['NODE_OPTIONS'];
  const database = options.databaseUrl === undefined ? ['--data-dir', dataDir] : ['--database-url', options.databaseUrl];
  const child = spawn(process.execPath, [CENTRAL_MAIN, 'serve', '--port', '0', ...database, '--admin-token', adminToken], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (http:\/\/\S+)/.exec(chunk.toString('utf8'));
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`the central exited before listening: ${log}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The password `useCentralProcess` writes to its password file. */
export const SITE_PASSWORD = 'a long site password';

/** A push as a remote site makes it (Basic auth with the SHA-256 hex of its password), and the central's answer. */
export async function pushAsSite(
  url: string,
  siteName: string,
  batchId: string,
  records: readonly SyncRecord[],
): Promise<{ readonly status: number; readonly body: { accepted: number; refused: { code: string }[] } }> {
  const res = await fetch(`${url}/sync/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${siteName}:${sha256Hex(SITE_PASSWORD)}`).toString('base64')}`,
      [HEADERS.hardwareId]: `${siteName}-hw`,
      [HEADERS.apiVersion]: String(SYNC_API_VERSION),
      [HEADERS.appName]: 'cli-test',
      [HEADERS.appVersion]: '1.0.0',
    },
    body: JSON.stringify({ batchId, records }),
  });
  return { status: res.status, body: (await res.json()) as { accepted: number; refused: { code: string }[] } };
}

/** A central process for one test file: its admin CLI, its URL, and a site password file. */
export interface CentralFixture {
  readonly url: string;
  /** a temporary folder of the test file's own (the central's data is in `central` there) */
  readonly dir: string;
  /** a file holding a site password, for `site add --password-file` */
  readonly passwordFile: string;
  adminRun(...args: string[]): Promise<Run>;
  admin(...args: string[]): Promise<string>;
}

/**
 * Starts a central process in `beforeAll` (then runs `setUp` with it) and stops it in `afterAll`;
 * the fixture's members are usable from the tests once `beforeAll` ran.
 */
export function useCentralProcess(name: string, adminToken: string, setUp: (central: CentralFixture) => Promise<void> = async () => undefined): CentralFixture {
  let dir = '';
  let central: Awaited<ReturnType<typeof startCentralProcess>> | null = null;
  const fixture: CentralFixture = {
    get url() {
      if (!central) throw new Error('the central process is not started yet (use the fixture inside tests)');
      return central.url;
    },
    get dir() {
      return dir;
    },
    get passwordFile() {
      return join(dir, 'password');
    },
    adminRun: (...args) => cli(CENTRAL_MAIN, [...args, '--url', fixture.url], { SITESYNC_ADMIN_TOKEN: adminToken }),
    admin: (...args) => ok(fixture.adminRun(...args)),
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `sitesync-${name}-`));
    central = await startCentralProcess(join(dir, 'central'), adminToken);
    writeFileSync(fixture.passwordFile, `${SITE_PASSWORD}\n`, { mode: 0o600 });
    await setUp(fixture);
  }, 60_000);
  afterAll(async () => {
    await central?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return fixture;
}

/** A central process and two remote data files, driven through the CLIs only. */
export interface CliNetwork {
  readonly dir: string;
  readonly url: string;
  /** an admin command against the central (its output; a non-zero exit throws) */
  admin(...args: string[]): Promise<string>;
  /** the same, run to its end whatever its exit code */
  adminRun(...args: string[]): Promise<Run>;
  /** a remote command on `file` in the network's directory (its output; a non-zero exit throws) */
  remote(file: string, ...args: string[]): Promise<string>;
  /** the same, run to its end whatever its exit code */
  remoteRun(file: string, ...args: string[]): Promise<Run>;
  stop(): Promise<void>;
}

/**
 * `sitesync-central serve` in a new directory, sites North (2) and South (3) with one password
 * file, `stores` run to add stores and copies, then `north.sqlite` and `south.sqlite` initialised.
 */
export async function startCliNetwork(name: string, adminToken: string, stores: (admin: CliNetwork['admin']) => Promise<void>): Promise<CliNetwork> {
  const dir = mkdtempSync(join(tmpdir(), `sitesync-${name}-`));
  const central = await startCentralProcess(join(dir, 'central'), adminToken);
  const adminRun = (...args: string[]) => cli(CENTRAL_MAIN, [...args, '--url', central.url], { SITESYNC_ADMIN_TOKEN: adminToken });
  const admin = (...args: string[]) => ok(adminRun(...args));
  const remoteRun = (file: string, ...args: string[]) => cli(REMOTE_MAIN, ['--data', join(dir, file), ...args]);
  const remote = (file: string, ...args: string[]) => ok(remoteRun(file, ...args));
  const password = join(dir, 'password');
  writeFileSync(password, 'a long site password\n', { mode: 0o600 });
  for (const site of ['North', 'South']) await admin('site', 'add', '--name', site, '--password-file', password);
  await stores(admin);
  for (const [file, site] of [
    ['north.sqlite', 'North'],
    ['south.sqlite', 'South'],
  ] as const) {
    await remote(file, 'init', '--central-url', central.url, '--site-name', site, '--password-file', password);
  }
  return {
    dir,
    url: central.url,
    admin,
    adminRun,
    remote,
    remoteRun,
    async stop() {
      await central.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
