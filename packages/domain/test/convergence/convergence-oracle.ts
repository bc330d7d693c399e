import {
  canonicalJson as canonical,
  catalogueRow,
  countUnpushed,
  decideEdit,
  detectTransfer,
  isOmsCentralType,
  numberSequenceOf,
  recordKey,
  respondingId,
  siteHolds,
  transferProcessingSite,
  visibilityContext,
  type SiteId,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import type { Remote, Storage } from './convergence-harness';
import { checkTransferHalves } from './convergence-transfers';

/**
 * The convergence harness's oracle, after every site synced with no new edits: each site holds
 * exactly the records the rules route to it from the state of the server its type syncs with (the
 * central, or the Open mSupply central server), with that server's data; every accepted write is
 * there; no refused or forged write took effect; nothing a site wrote is left unpushed; each server
 * holds only its own types; an untouched responding half holds exactly its initiating half.
 */
async function allRecords(storage: Storage): Promise<Map<string, SyncRecord>> {
  const out = new Map<string, SyncRecord>();
  for (const page of await storage.storage.records.select({}, { limit: 1_000_000 })) out.set(recordKey(page), page);
  const full = await storage.storage.records.getMany([...out.values()]);
  return new Map(full.map((r) => [recordKey(r), r]));
}

export async function checkOracle(
  central: Storage,
  hub: Storage | null,
  remotes: Map<SiteId, Remote>,
  topology: Topology,
  forged: Map<string, unknown>,
  coverage: { omsCentralRecords: number },
): Promise<void> {
  const onMain = await allRecords(central);
  const onHub = hub ? await allRecords(hub) : new Map<string, SyncRecord>();
  coverage.omsCentralRecords += onHub.size;
  // each server holds only its own data types: none of the Open mSupply central's on the mSupply central once one is flagged
  for (const key of onMain.keys()) {
    if (topology.omsCentral && isOmsCentralType(key.split(':')[0]!)) throw new Error(`the mSupply central holds ${key}, Open mSupply central data`);
  }
  for (const key of onHub.keys()) {
    if (!isOmsCentralType(key.split(':')[0]!)) throw new Error(`the Open mSupply central server holds ${key}, which is not its data`);
  }
  // what every site must hold comes from the server its type syncs with
  const onCentral = new Map([...onMain, ...onHub]);
  /** the site whose server keeps a record to route it: the Open mSupply central for its types, else the central */
  const keeper = (r: SyncRecord): SiteId => (topology.omsCentral && isOmsCentralType(r.type) ? topology.omsCentral.id : 1);
  const context = await central.run((s) =>
    visibilityContext(
      s,
      [...onCentral.values()].flatMap((r) => (r.patientId ? [r.patientId] : [])),
    ),
  );
  for (const [key, data] of forged) {
    if (canonical(onCentral.get(key)?.data) === canonical(data)) throw new Error(`a forged write took effect on the central: ${key}`);
  }
  // every initiating half the central completes has its responding half there, once (ids are derived), or an open issue saying why not
  const openIssues = new Set((await central.storage.issues.open({ limit: 100_000 })).map((i) => i.key));
  for (const r of onCentral.values()) {
    const detection = detectTransfer(topology, r);
    if (detection.kind !== 'initiating' || transferProcessingSite(topology, detection.initiating, detection.responding).site.id !== 1) continue;
    const half = respondingId(r.id, detection.transferKind);
    if (![...onCentral.values()].some((x) => x.id === half) && !openIssues.has(recordKey(r)))
      throw new Error(`transfer ${recordKey(r)}: no responding half ${half} on the central, and no issue says why`);
  }
  await checkTransferHalves(central, topology, onCentral);
  // numbers given by responding sites are never used twice in a store (a re-initialised site numbers on)
  const numbers = new Map<string, string>();
  for (const r of onCentral.values()) {
    const n = r.data['serialNumber'];
    if (r.data['createdByTransfer'] === undefined || typeof n !== 'number' || n <= 0) continue;
    const slot = JSON.stringify([r.storeId, numberSequenceOf(r), n]);
    const other = numbers.get(slot);
    if (other !== undefined) throw new Error(`number ${n} of ${r.type} in store ${String(r.storeId)} is used twice: ${other} and ${recordKey(r)}`);
    numbers.set(slot, recordKey(r));
  }
  for (const [siteId, remote] of remotes) {
    // everything a site wrote that goes somewhere has been pushed, to the server its type syncs with
    const unpushed = await countUnpushed(remote.storage.storage, await remote.storage.storage.topology.load(), siteId);
    if (unpushed > 0) throw new Error(`site ${siteId} still has ${unpushed} changes not pushed after every site synced`);
    const held = await allRecords(remote.storage);
    const expected = [...onCentral.values()].filter((r) => siteHolds(topology, siteId, r, context));
    const problems: string[] = [];
    for (const r of expected) {
      const mine = held.get(recordKey(r));
      // A copy the central kept from an earlier topology (it no longer holds it by the rules: the two
      // stores of a transfer it completed are now on one site, a dispensary now keeps its transactions
      // home) is the best it can give a site that lacks the record, but the owner's version may be newer.
      const orphan = !siteHolds(topology, keeper(r), r, context);
      if (orphan && mine && decideEdit(topology, siteId, r).ok) continue;
      if (!mine) problems.push(`missing ${recordKey(r)}`);
      else if (canonical(mine) !== canonical(r)) problems.push(`stale ${recordKey(r)}: ${JSON.stringify(mine.data)} instead of ${JSON.stringify(r.data)}`);
    }
    const wanted = new Set(expected.map(recordKey));
    // what the central refused from this site stays here, visible as an issue, never silently dropped
    const refusedHere = new Set((await remote.storage.storage.issues.open({ prefix: 'refused:', limit: 100_000 })).map((i) => i.key.slice('refused:'.length)));
    for (const [key, r] of held) {
      if (refusedHere.has(key) || catalogueRow(r.type)?.category === 'local') continue; // local data is each site's own, whatever its id
      // what the central holds by the rules now; a copy it kept from an earlier topology is not authoritative
      const kept = onCentral.has(key) && siteHolds(topology, keeper(onCentral.get(key)!), onCentral.get(key)!, context);
      // (a site keeps what it owns even where the rules send it nothing: a mirrored primary's dispensary central data)
      if (!wanted.has(key) && kept && !decideEdit(topology, siteId, r).ok) problems.push(`holds ${key}, which the rules do not route to it`);
      // what the central does not hold (or holds only as a copy of the past) may be here only if this site owns it
      if (!kept && !wanted.has(key) && decideEdit(topology, siteId, r).ok === false)
        problems.push(`holds ${key}, which the central does not hold and it does not own`);
    }
    if (problems.length > 0) throw new Error(`site ${siteId} diverged from the central:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
}
