import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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

/** `sitesync-central serve` on embedded PGlite in `dataDir`, on a free port, as a real process. */
export async function startCentralProcess(dataDir: string, adminToken: string): Promise<{ readonly url: string; stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [CENTRAL_MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--admin-token', adminToken], {
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
