/**
 * `npm run soak -- --runs 5000 [--seed N]`: the convergence harness of the tests
 * (packages/domain/test/convergence) with more runs. Prints the seed and any shrunk counterexample.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { convergence, coverage } from '../packages/domain/test/convergence/convergence-harness';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5000' }, seed: { type: 'string' } } });
  const runs = Number(values.runs);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs is a whole number of at least 1');
  const started = Date.now();
  process.stdout.write(`convergence soak: ${runs} runs, seed ${seed}\n`);
  await fc.assert(convergence, { numRuns: runs, seed });
  process.stdout.write(`all ${runs} runs converged in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(
    `${coverage.withOmsCentral} of the ${coverage.runs} valid worlds had an Open mSupply central server; ${coverage.omsCentralRecords} records were held by it at the end of those runs\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  // fast-check keeps the property's own failure as the cause
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) process.stderr.write(`cause: ${cause.stack ?? cause.message}\n`);
  process.exitCode = 1;
});
