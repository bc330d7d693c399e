import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RoutingContext, SyncRecord, Topology } from '@sitesync/domain';
import { mirroredTopology, seedExampleTopology, seedTopologyWithDispensary } from '@sitesync/testkit';

/** Reads the numbered rows of one decision table of docs/sync-rules.md (rows whose first cell starts with `prefix`). */
export function tableRows(prefix: string): string[][] {
  const text = readFileSync(resolve(__dirname, '../../../../docs/sync-rules.md'), 'utf8');
  const rowPattern = new RegExp(`^\\|\\s*${prefix}\\d+\\s*\\|`);
  return text
    .split('\n')
    .filter((line) => rowPattern.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** The setups of docs/sync-rules.md section 2. */
export function setup(name: string): Topology {
  switch (name) {
    case 'seed':
      return seedExampleTopology();
    case 'mirrored':
      return mirroredTopology();
    case 'dispensary':
      return seedTopologyWithDispensary();
    case 'dispensary-off':
      return seedTopologyWithDispensary({ includeTransactionsInSync: false });
    case 'oms': {
      // every store on the Open mSupply central server runs in dispensary mode (C and D are active on site 3)
      let topology = seedExampleTopology();
      for (const store of ['C', 'D']) {
        const dispensary = topology.updateStore(store, { isDispensary: true });
        if (!dispensary.ok) throw new Error(JSON.stringify(dispensary.error));
        topology = dispensary.value;
      }
      const result = topology.updateSite(3, { roles: ['oms-central'], omsCentralUrl: 'https://oms.example.org:8000' });
      if (!result.ok) throw new Error(JSON.stringify(result.error));
      return result.value;
    }
    case 'procurement': {
      const result = seedExampleTopology().updateSite(1, { centralisedProcurement: true });
      if (!result.ok) throw new Error(JSON.stringify(result.error));
      return result.value;
    }
    case 'procurement-local': {
      const result = setup('procurement').updateSite(3, { centralisedProcurement: false });
      if (!result.ok) throw new Error(JSON.stringify(result.error));
      return result.value;
    }
    default:
      throw new Error(`docs/sync-rules.md names an unknown setup "${name}"`);
  }
}

/** Patient visibility of the "dispensary" setup: p1 visible in G and B, p2 in G, p3 in D. */
export const VISIBILITY: RoutingContext = {
  patientVisibleIn: (patientId) => ({ p1: ['G', 'B'], p2: ['G'], p3: ['D'] })[patientId] ?? [],
};

/** Parses the record notation of docs/sync-rules.md: `type`, `type@S`, `type@S>O`, `type[p@H]`, `type[p]`. */
export function parseRecord(spec: string, id = 'r-1'): SyncRecord {
  const patient = /^(\w+)\[(\w+)(?:@(\w+))?\]$/.exec(spec);
  if (patient) {
    const [, type, patientId, home] = patient;
    return { type: type!, id, patientId: patientId!, homeStoreId: home ?? null, data: {} };
  }
  const owned = /^(\w+)(?:@(\w+)(?:>(\w+))?)?$/.exec(spec);
  if (!owned) throw new Error(`docs/sync-rules.md: cannot read record "${spec}"`);
  const [, type, storeId, other] = owned;
  return { type: type!, id, storeId: storeId ?? null, otherPartyStoreId: other ?? null, data: {} };
}
