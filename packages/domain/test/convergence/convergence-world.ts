import { buildTopology, type Topology } from '@sitesync/domain';
import fc from 'fast-check';
import { transferChangeArb, type TransferChangeStep } from './convergence-transfers';

/** The convergence harness's random worlds (topologies, an Open mSupply central in about half) and steps. */
export const COPY = ['none', 'transfer', 'collector'] as const;

export interface World {
  readonly sites: number; // remote sites are 2..sites; site 1 is the central, and the primary unless mirrored
  /** mirrored sync: site 2 is the primary (it edits central data), with a collector copy of every store */
  readonly mirrored?: boolean;
  /**
   * the remote site flagged as the Open mSupply central server (seed 000), or absent: it serves the
   * Open mSupply data types from a store of its own (`hub`) that every remote syncs them with
   */
  readonly oms?: number | undefined;
  readonly stores: readonly { readonly active: number; readonly dispensary: boolean; readonly includeTx: boolean; readonly copies: readonly number[] }[];
}

export type Fault_ = 'none' | 'crash' | 'central-crash' | 'lost-answer' | 'replay' | 'concurrent';
export type EditKind = 'stock' | 'item' | 'abbreviation' | 'patient' | 'visibility' | 'message' | 'local' | 'asset' | 'catalogue' | 'immunisation';
export type TransferKind = 'customer-invoice' | 'supplier-requisition' | 'purchase-order';

export type Step =
  | { readonly op: 'edit'; readonly site: number; readonly kind: EditKind; readonly store: number; readonly n: number }
  | { readonly op: 'forge'; readonly site: number; readonly store: number; readonly n: number }
  | { readonly op: 'transfer'; readonly site: number; readonly store: number; readonly other: number; readonly kind: TransferKind; readonly finalise: boolean }
  | { readonly op: 'sync'; readonly site: number; readonly fault: Fault_ }
  | { readonly op: 'copy'; readonly store: number; readonly site: number; readonly type: number }
  | { readonly op: 'move'; readonly store: number; readonly site: number; readonly leave: number }
  | { readonly op: 'flag'; readonly store: number; readonly dispensary: boolean; readonly includeTx: boolean }
  | { readonly op: 'reinitialise'; readonly site: number }
  | TransferChangeStep;

export const worldArb: fc.Arbitrary<World> = fc.integer({ min: 3, max: 6 }).chain((sites) =>
  fc.record({
    sites: fc.constant(sites),
    mirrored: fc.boolean(),
    // in about half the worlds, a remote site is the Open mSupply central server
    oms: fc.option(fc.integer({ min: 2, max: sites }), { nil: undefined, freq: 2 }),
    stores: fc.array(
      fc.record({
        active: fc.integer({ min: 1, max: sites }),
        dispensary: fc.boolean(),
        includeTx: fc.boolean(),
        copies: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: sites, maxLength: sites }),
      }),
      { minLength: 4, maxLength: 10 },
    ),
  }),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('edit' as const),
      site: fc.nat(5),
      kind: fc.constantFrom('stock', 'item', 'abbreviation', 'patient', 'visibility', 'message', 'local', 'asset', 'catalogue', 'immunisation' as const),
      store: fc.nat(9),
      n: fc.nat(6),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('forge' as const), site: fc.nat(5), store: fc.nat(9), n: fc.nat(6) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('transfer' as const),
      site: fc.nat(5),
      store: fc.nat(9),
      other: fc.nat(9),
      kind: fc.constantFrom('customer-invoice', 'supplier-requisition', 'purchase-order' as const),
      finalise: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('sync' as const),
      site: fc.nat(5),
      fault: fc.constantFrom('none', 'none', 'crash', 'lost-answer', 'replay' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), store: fc.nat(9), site: fc.nat(5), type: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('move' as const), store: fc.nat(9), site: fc.nat(5), leave: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flag' as const), store: fc.nat(9), dispensary: fc.boolean(), includeTx: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reinitialise' as const), site: fc.nat(5) }) },
  { weight: 3, arbitrary: transferChangeArb },
);

export const stepsArb = fc.array(stepArb, { minLength: 5, maxLength: 40 });

/** The world's topology, or null when the random one breaks a topology rule (the run is then skipped). */
export function topologyOf(world: World): Topology | null {
  const built = buildTopology({
    sites: Array.from({ length: world.sites }, (_, i) => ({
      id: i + 1,
      name: `Site ${i + 1}`,
      roles: [
        ...(i === 0 ? (world.mirrored ? (['central'] as const) : (['central', 'primary'] as const)) : i === 1 && world.mirrored ? (['primary'] as const) : []),
        ...(world.oms === i + 1 ? (['oms-central'] as const) : []),
      ],
      ...(world.oms === i + 1 ? { omsCentralUrl: 'https://oms.example.org' } : {}),
    })),
    stores: world.stores.map((s, i) => ({
      id: `S${i}`,
      name: `Store ${i}`,
      activeSiteId: s.active,
      // every store on the Open mSupply central server runs in dispensary mode
      isDispensary: s.dispensary || s.active === world.oms,
      includeTransactionsInSync: s.includeTx,
      // every store exists on the central: a collector copy there, unless the world says transfer (seed store F)
      // and a mirrored primary (site 2) holds a collector copy of every store
      copies: s.copies
        .map((c, site) => ({ siteId: site + 1, type: COPY[(site === 0 && c === 0) || (site === 1 && world.mirrored) ? 2 : c]! }))
        .filter((c) => c.siteId !== s.active),
    })),
  });
  return built.ok ? built.value : null;
}
