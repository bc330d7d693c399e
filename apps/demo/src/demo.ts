import { decideEdit, describeSite, processInitiatingHalf, routeChange, type RoutingContext, type SyncRecord, type Topology } from '@sitesync/domain';
import { customerInvoice, seedTopologyWithDispensary } from '@sitesync/testkit';

/** One example record per category (and special case) of seed 002, in the seed's example topology. */
export const DEMO_RECORDS: readonly { readonly title: string; readonly record: SyncRecord }[] = [
  { title: 'Central data', record: { type: 'item', id: 'item-paracetamol', data: { name: 'Paracetamol 500mg' } } },
  { title: 'Dispensary central data', record: { type: 'abbreviation', id: 'abbr-bd', data: { text: 'twice a day' } } },
  { title: 'Central store data', record: { type: 'store_preference', id: 'pref-D', storeId: 'D', data: { packToOne: true } } },
  { title: 'The store record itself', record: { type: 'store', id: 'B', storeId: 'B', data: { name: 'Store B' } } },
  ...['A', 'B', 'C', 'D', 'E', 'F'].map((store) => ({
    title: `Store data of store ${store}`,
    record: { type: 'stock_line', id: `stock-${store}`, storeId: store, data: { itemId: 'item-paracetamol', packs: 10 } },
  })),
  {
    title: 'A transfer from store B to store C',
    record: { type: 'transaction', id: 'ci-B-C', storeId: 'B', otherPartyStoreId: 'C', data: { kind: 'customer_invoice', status: 'finalised' } },
  },
  { title: 'Patient data', record: { type: 'patient', id: 'patient-1', patientId: 'patient-1', homeStoreId: 'G', data: { name: 'A. Patient' } } },
  { title: 'Local data', record: { type: 'log', id: 'log-1', data: { text: 'login' } } },
  { title: 'Sync data', record: { type: 'site', id: 'site-2', data: {} } },
  {
    title: 'A message from store D to store B',
    record: { type: 'message', id: 'msg-1', storeId: 'D', otherPartyStoreId: 'B', data: { text: 'stock count due' } },
  },
];

/** Patient 1 (home store G) is visible in G and in B. */
const VISIBILITY: RoutingContext = { patientVisibleIn: (id) => (id === 'patient-1' ? ['G', 'B'] : []) };

export function renderDemo(topology: Topology = seedTopologyWithDispensary()): string {
  const out: string[] = [];
  const site = (id: number) => describeSite(topology.site(id)!);
  out.push("sitesync: seed 002's example topology, who may edit each kind of record and where a change of it goes", '');
  out.push('Sites:');
  for (const s of topology.sites) out.push(`  ${describeSite(s)}`);
  out.push('', 'Stores (sync type on each site):');
  for (const store of topology.stores) {
    out.push(
      `  ${store.code.padEnd(2)} ${topology.sites.map((s) => `${s.id}: ${topology.syncTypeOn(store.id, s.id)}`).join(', ')}${store.isDispensary ? ' (dispensary)' : ''}`,
    );
  }
  for (const { title, record } of DEMO_RECORDS) {
    out.push('', `${title}: ${record.type} ${record.id}`);
    const editors = topology.sites.map((s) => ({ s, d: decideEdit(topology, s.id, record) }));
    const allowed = editors.filter((e) => e.d.ok);
    for (const { d } of allowed) if (d.ok) out.push(`  may edit on ${allowed.map((e) => describeSite(e.s)).join(', ')}: ${d.value.reason}`);
    const refused = editors.find((e) => !e.d.ok);
    if (refused && !refused.d.ok) out.push(`  refused elsewhere, e.g. ${describeSite(refused.s)}: ${refused.d.error.message}`);
    const origin = allowed[0]?.s.id;
    if (origin === undefined) continue;
    const routing = routeChange(topology, origin, record, VISIBILITY);
    if (!routing.ok) {
      out.push(`  cannot be routed: ${routing.error.message}`);
      continue;
    }
    out.push(`  a change made on ${site(origin)}:`);
    for (const d of routing.value.destinations) out.push(`    -> goes to ${site(d.siteId)} [${d.rule}]: ${d.reason}`);
    for (const d of routing.value.withheld) out.push(`    -- not to ${site(d.siteId)} [${d.rule}]: ${d.reason}`);
  }
  out.push('', 'Transfers: completed by the central, since B (site 2) and C (site 3) are on different sites');
  const invoice = customerInvoice({ id: 'ci-100', from: 'B', to: 'C', lines: [{ itemId: 'bcg-vaccine', quantity: 200 }] });
  const done = processInitiatingHalf(topology, topology.central.id, invoice, null);
  if (done.ok && done.value.kind === 'created') {
    out.push(`  ${done.value.reason}`);
    for (const w of done.value.writes) out.push(`    creates ${w.type} ${w.id} in store ${String(w.storeId)} ${JSON.stringify(w.data)}`);
  }
  const broken = processInitiatingHalf(topology, topology.central.id, customerInvoice({ id: 'ci-101', from: 'C', to: 'F' }), null);
  if (!broken.ok) out.push('  A transfer from C to F is refused:', `    ${broken.error.message}`, `    Fix: ${broken.error.fix}`);
  return out.join('\n');
}
