import fc from 'fast-check';
import { convergence, coverage, runScenario, type Step, type World } from './convergence-harness';

const RUNS = Number(process.env['CONVERGENCE_RUNS'] ?? 200);
const SEED = process.env['CONVERGENCE_SEED'] !== undefined ? Number(process.env['CONVERGENCE_SEED']) : 20261202;

describe('convergence: every site holds exactly what the rules route to it, whatever happened', () => {
  it(`holds over ${RUNS} random topologies, edits, scope changes and faults (in memory)`, async () => {
    // A failure prints the seed, the path and the shrunk world and steps.
    await fc.assert(convergence, { numRuns: RUNS, seed: SEED, endOnFailure: false });
    // an Open mSupply central server was in some of the worlds, and records went through it
    expect(coverage.withOmsCentral).toBeGreaterThan(RUNS / 10);
    expect(coverage.omsCentralRecords).toBeGreaterThan(0);
  }, 600_000);
});

describe('convergence: scenarios found or feared, replayed exactly', () => {
  const world: World = {
    sites: 3,
    stores: [
      { active: 2, dispensary: false, includeTx: true, copies: [2, 0, 1] }, // S0 on site 2, a transfer copy on site 3
      { active: 3, dispensary: false, includeTx: true, copies: [2, 1, 0] }, // S1 on site 3, a transfer copy on site 2
      { active: 1, dispensary: false, includeTx: true, copies: [0, 0, 0] },
      { active: 1, dispensary: false, includeTx: true, copies: [0, 0, 0] },
    ],
  };

  it('a responding site re-initialised from an empty file numbers on after the numbers it had used', async () => {
    const transfer: Step = { op: 'transfer', site: 1, store: 0, other: 1, kind: 'customer-invoice', finalise: true };
    const sync = (site: number): Step => ({ op: 'sync', site, fault: 'none' });
    // site 2 sends S1 a stock transfer, site 3 numbers it; site 3 loses its file; a second transfer is numbered there again
    await runScenario(world, [
      sync(1),
      sync(2),
      transfer,
      sync(1),
      sync(2),
      sync(2),
      { op: 'reinitialise', site: 2 },
      sync(2),
      transfer,
      sync(1),
      sync(2),
      sync(2),
    ]);
  });
  it('an asset the Open mSupply central entered for its own store reaches its server, and follows the store when it moves (found by the soak)', async () => {
    // site 2 is the Open mSupply central; its store S1 has no copy but the central's, so the rules route its asset nowhere else
    const oms: World = {
      sites: 3,
      oms: 2,
      stores: [
        { active: 1, dispensary: false, includeTx: false, copies: [0, 0, 0] },
        { active: 2, dispensary: false, includeTx: true, copies: [0, 0, 0] },
        { active: 1, dispensary: false, includeTx: false, copies: [0, 0, 0] },
      ],
    };
    await runScenario(oms, [
      { op: 'edit', site: 1, kind: 'asset', store: 1, n: 0 },
      { op: 'move', store: 1, site: 0, leave: 0 },
      { op: 'edit', site: 0, kind: 'stock', store: 0, n: 0 },
    ]);
  });
});
