import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * A secret for a CLI (a site password, the admin token), from the first of: a file (`--password-file`),
 * an environment variable, the command-line value (visible in the process list: discouraged), or a
 * prompt on the terminal without echo. Throws, naming every way, when none gives it.
 */
export async function readSecret(
  what: string,
  sources: { readonly file?: string; readonly envName: string; readonly flag?: string; readonly flagName: string },
): Promise<string> {
  if (sources.file !== undefined) {
    const mode = statSync(sources.file).mode & 0o777;
    const secret = readFileSync(sources.file, 'utf8').replace(/\r?\n$/, '');
    if (secret === '') throw new Error(`${sources.file} is empty: it should hold the ${what}.`);
    if ((mode & 0o077) !== 0)
      process.stderr.write(`warning: ${sources.file} holding the ${what} is readable by other users (mode ${mode.toString(8)}): chmod 600 it.\n`);
    return secret;
  }
  const fromEnv = process.env[sources.envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (sources.flag !== undefined && sources.flag !== '') return sources.flag;
  if (process.stdin.isTTY && process.stderr.isTTY) return prompt(`${what}: `);
  throw new Error(
    `No ${what} given: put it in a file and pass ${sources.flagName}-file FILE, set ${sources.envName}, or run this on a terminal to be asked for it.`,
  );
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // no echo: the characters typed are not written back
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      if (answer === '') reject(new Error('Nothing was typed.'));
      else resolve(answer);
    });
  });
}
