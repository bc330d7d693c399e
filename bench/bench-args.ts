/** The benchmark's command line: `--name value` pairs, and flags without a value (`--quick`) as 'true'. */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '');
    const next = argv[i + 1];
    const flag = next === undefined || next.startsWith('--');
    args.set(name, flag ? 'true' : next);
    if (!flag) i++;
  }
  return args;
}
