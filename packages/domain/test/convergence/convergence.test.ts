import fc from 'fast-check';
import { convergence } from './convergence-harness';

const RUNS = Number(process.env['CONVERGENCE_RUNS'] ?? 200);
const SEED = process.env['CONVERGENCE_SEED'] !== undefined ? Number(process.env['CONVERGENCE_SEED']) : 20261202;

describe('convergence: every site holds exactly what the rules route to it, whatever happened', () => {
  it(`holds over ${RUNS} random topologies, edits, scope changes and faults (in memory)`, async () => {
    // A failure prints the seed, the path and the shrunk world and steps.
    await fc.assert(convergence, { numRuns: RUNS, seed: SEED, endOnFailure: false });
  }, 600_000);
});
