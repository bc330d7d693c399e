import type { Change } from '../ports/change-feed';
import type { Clock } from '../ports/services';
import type { SyncStorage } from '../ports/unit-of-work';
import { recordKey, type SyncRecord } from '../record';
import type { RoutingContext } from '../rules/routing-rules';
import { hasRole, type SiteId } from '../site';
import type { Topology } from '../topology';
import { withoutConnectionFields } from '../ports/topology-repository';
import { pullCursorWrites, sitePullState, waitingFor } from './pull-server';
import { patientsOf, siteHolds, visibilityContext, VISIBILITY_TYPES } from './scope-changes';
import { routingSignature } from './site-routing';

/** Changes read per query (routing columns only). */
const SCAN_PAGE = 20_000;
/** A page of new changes this long is counted by counting every site again, not change by change. */
const RECOUNT_PAGE = 5_000;

export interface WaitingCountsOptions {
  /** for how long a cursor a pull in this process wrote is read again on every count while it is not the one read (default 10 s: the pull's unit of work has committed or failed by then) */
  readonly settleMs?: number;
  /** pull cursors read again on every count besides those this process saw written, in turn over all sites (default 10): pulls served by another central process are seen within sites/10 counts */
  readonly cursorsPerCount?: number;
  /** places kept before those that records left are dropped, once they are more than half (default 4096) */
  readonly compactAbove?: number;
}

/**
 * How many records wait for each remote site on the central, kept up to date incrementally: what
 * the site list, the report and the `sitesync_records_waiting` gauge show. After every `count` the
 * counts equal `waitingFor` of each site (its resync queue, plus the feed changes after the cursor of
 * its last pull that go to it), without scanning the feed for each site on each call:
 *
 * - the feed is read once, then only what was added since the previous count (once for all sites);
 *   each change is placed in a destination class (the remote sites its routing sends it to, decided
 *   once per distinct routing columns, the patient's visibility included), and a record written
 *   again leaves its earlier place;
 * - a site's count moves with its pull cursor by counting only the changes between the old and the
 *   new cursor (or after the new one, whichever is shorter; none when it caught up);
 * - a change of patient visibility decides that patient's changes again; a change of the topology's
 *   routing (sites, roles, stores, copies) starts again from the feed;
 * - the resync queues are counted by one grouped query.
 *
 * It lives in the central process's memory (a few typed-array slots per record in the feed, plus
 * its key in a map: about 125 MB for 1,000,000 records): it is a display count, built again from the
 * feed after a restart. The equality with `waitingFor` holds for the pulls this process serves: pull
 * cursors are read from storage (the settings port reads one key at a time, so not every site's on
 * every call), all at the first count, then those a pull in this process moved (`pullCursorWrites`,
 * read again until the cursor the pull wrote is read, at most for `settleMs`), and
 * `cursorsPerCount` others in turn: with several central processes, a pull served by another
 * process shows within sites / `cursorsPerCount` counts. Cursors beyond 2^53 fall back to
 * `waitingFor`.
 */
export class WaitingCounts {
  private counted: CountedFeed | null = null;
  private readonly cursors = new Map<SiteId, bigint>();
  private readonly recent = new Map<SiteId, { readonly since: number; readonly cursor: bigint }>();
  private writesSeen = 0;
  private turn = 0;
  private readonly settleMs: number;
  private readonly cursorsPerCount: number;
  private readonly compactAbove: number;

  constructor(
    private readonly clock: Clock,
    options: WaitingCountsOptions = {},
  ) {
    this.settleMs = options.settleMs ?? 10_000;
    this.cursorsPerCount = options.cursorsPerCount ?? 10;
    this.compactAbove = options.compactAbove ?? 4096;
  }

  private running: Promise<unknown> = Promise.resolve();

  /** Records waiting per remote site of `topology` (every site but the central), read in `storage` (one unit of work); calls take turns. */
  count(storage: SyncStorage, topology: Topology): Promise<ReadonlyMap<SiteId, number>> {
    const counted = this.running.then(() => this.countNow(storage, topology));
    this.running = counted.catch(() => undefined);
    return counted;
  }

  private async countNow(storage: SyncStorage, topology: Topology): Promise<ReadonlyMap<SiteId, number>> {
    const sites = topology.sites.filter((s) => !hasRole(s, 'central')).map((s) => s.id);
    await this.readCursors(storage, sites);
    const fingerprint = routingFingerprint(topology);
    if (this.counted?.fingerprint !== fingerprint) this.counted = new CountedFeed(topology, fingerprint, sites, this.compactAbove);
    const counted = this.counted;
    const pending = await storage.resync.pendingBySite();
    const from = sites.map((id) => this.cursors.get(id) ?? 0n);
    let counts: readonly number[] | null = null;
    try {
      counts = await counted.update(storage, from);
    } catch (error) {
      // a failed update leaves the counts half done: the next count starts again from the feed
      this.counted = null;
      if (!(error instanceof UnsafeCursor)) throw error;
    }
    const out = new Map<SiteId, number>();
    for (let i = 0; i < sites.length; i++) {
      const id = sites[i]!;
      out.set(id, counts ? counts[i]! + (pending.get(id) ?? 0) : await waitingFor(storage, topology, id, from[i]));
    }
    return out;
  }

  /** Reads the pull cursors that may have moved: every site's the first time, then the hinted and a few in turn. */
  private async readCursors(storage: SyncStorage, sites: readonly SiteId[]): Promise<void> {
    const now = this.clock.now().getTime();
    let latest = this.writesSeen;
    for (const [siteId, { write, cursor }] of pullCursorWrites()) {
      if (write > this.writesSeen) this.recent.set(siteId, { since: now, cursor });
      latest = Math.max(latest, write);
    }
    this.writesSeen = latest;
    const read = new Set<SiteId>(sites.filter((id) => !this.cursors.has(id)));
    for (const siteId of this.recent.keys()) read.add(siteId);
    for (let i = 0; i < Math.min(this.cursorsPerCount, sites.length); i++) read.add(sites[this.turn++ % sites.length]!);
    for (const siteId of read) {
      const { cursor } = await sitePullState(storage, siteId);
      this.cursors.set(siteId, cursor);
      // a noted site is read until its pull committed (the noted cursor is read), or for settleMs (the pull failed, or another followed)
      const noted = this.recent.get(siteId);
      if (noted && (noted.cursor === cursor || now - noted.since > this.settleMs)) this.recent.delete(siteId);
    }
  }
}

/** Thrown when a cursor does not fit a double: the counts fall back to `waitingFor`. */
class UnsafeCursor extends Error {}

function asNumber(cursor: bigint): number {
  const n = Number(cursor);
  if (!Number.isSafeInteger(n)) throw new UnsafeCursor(`cursor ${cursor} is beyond 2^53`);
  return n;
}

/** What decides routing in a topology: everything but the fields a login or sync changes on a site. */
function routingFingerprint(topology: Topology): string {
  const known = fingerprints.get(topology);
  if (known !== undefined) return known;
  const sites = topology.sites.map(withoutConnectionFields);
  const fingerprint = JSON.stringify({ sites, stores: topology.stores });
  fingerprints.set(topology, fingerprint);
  return fingerprint;
}

const fingerprints = new WeakMap<Topology, string>();

/** The remote sites a change goes to (before its own site is taken out). */
interface DestinationClass {
  /** every remote site */
  readonly all: boolean;
  /** the site indexes, ascending */
  readonly members: Int32Array;
  /** membership by site index, for large classes */
  readonly member: Uint8Array | null;
}

/** The feed as counted under one routing of the topology: each change's place, class and source, and the counts. */
class CountedFeed {
  private readonly index = new Map<SiteId, number>();
  private readonly classes: DestinationClass[] = [];
  private readonly bySignature = new Map<string, number>();
  private readonly byMembers = new Map<string, number>();
  // per position, in cursor order
  private cursor = new Float64Array(1024);
  private cls = new Int32Array(1024);
  private src = new Int32Array(1024);
  private keys: (string | undefined)[] = [];
  private size = 0;
  private live = 0;
  private readonly keyPos = new Map<string, number>();
  /** the records (without data) of positions whose routing reads a patient's visibility */
  private readonly patientAt = new Map<number, SyncRecord>();
  private readonly byPatient = new Map<string, Set<number>>();
  // per site index
  private readonly counts: Int32Array;
  private readonly from: Float64Array;
  private after = 0n;
  private built = false;

  constructor(
    private readonly topology: Topology,
    readonly fingerprint: string,
    private readonly sites: readonly SiteId[],
    private readonly compactAbove: number,
  ) {
    sites.forEach((id, i) => this.index.set(id, i));
    this.counts = new Int32Array(sites.length);
    this.from = new Float64Array(sites.length);
  }

  /** Brings the counts to the feed as `storage` reads it now and to these pull cursors (by site index); the counts by site index. */
  async update(storage: SyncStorage, cursors: readonly bigint[]): Promise<readonly number[]> {
    const from = cursors.map(asNumber);
    let recount = !this.built;
    if (this.built) from.forEach((c, i) => this.moveCursor(i, c));
    else this.from.set(from);
    const touched = new Set<string>();
    for (;;) {
      const page = await storage.changes.scan(this.after, SCAN_PAGE);
      if (page.length === 0) break;
      if (page.length >= RECOUNT_PAGE) recount = true;
      const context = await visibilityContext(storage, patientsOf(page.map((c) => c.record)));
      for (const change of page) this.append(change, context, recount, touched);
      this.after = page[page.length - 1]!.cursor;
      if (page.length < SCAN_PAGE) break;
    }
    if (touched.size > 0) await this.decideAgain(storage, touched, recount);
    if (recount) this.recountAll();
    this.built = true;
    if (this.size > this.compactAbove && this.size - this.live > this.live) this.compact();
    return Array.from(this.counts);
  }

  /** A new change at the end: its earlier place (if any) leaves, its class is decided, and (unless all is counted again) the sites it goes to count it. */
  private append(change: Change, context: RoutingContext, recount: boolean, touched: Set<string>): void {
    const key = recordKey(change.record);
    const earlier = this.keyPos.get(key);
    if (earlier !== undefined) {
      const before = this.patientAt.get(earlier);
      if (before && isVisibility(before)) touched.add(before.patientId!);
      this.remove(earlier, recount);
    }
    if (this.size === this.cursor.length) this.grow();
    const p = this.size++;
    this.cursor[p] = asNumber(change.cursor);
    this.cls[p] = this.classOf(change.record, context);
    this.src[p] = this.index.get(change.sourceSiteId) ?? -1;
    this.keys[p] = key;
    this.keyPos.set(key, p);
    this.live++;
    const patientId = change.record.patientId;
    if (patientId) {
      this.patientAt.set(p, change.record);
      let positions = this.byPatient.get(patientId);
      if (!positions) this.byPatient.set(patientId, (positions = new Set()));
      positions.add(p);
      if (isVisibility(change.record)) touched.add(patientId);
    }
    if (!recount) this.add(p, 1);
  }

  private remove(p: number, recount: boolean): void {
    if (!recount) this.add(p, -1);
    this.cls[p] = -1;
    this.keyPos.delete(this.keys[p]!);
    this.keys[p] = undefined;
    this.live--;
    const record = this.patientAt.get(p);
    if (record) {
      this.patientAt.delete(p);
      const positions = this.byPatient.get(record.patientId!)!;
      positions.delete(p);
      if (positions.size === 0) this.byPatient.delete(record.patientId!);
    }
  }

  /** The changes of patients whose visibility changed, decided again on the visibility read now. */
  private async decideAgain(storage: SyncStorage, patients: ReadonlySet<string>, recount: boolean): Promise<void> {
    const context = await visibilityContext(storage, patients);
    for (const patientId of patients) {
      for (const p of this.byPatient.get(patientId) ?? []) {
        const k = this.classOf(this.patientAt.get(p)!, context);
        if (k === this.cls[p]) continue;
        if (!recount) this.add(p, -1);
        this.cls[p] = k;
        if (!recount) this.add(p, 1);
      }
    }
  }

  /** The destination class of a record: decided by the routing rules once per distinct routing columns (and patient visibility). */
  private classOf(record: SyncRecord, context: RoutingContext): number {
    const signature = routingSignature(record, context);
    const known = this.bySignature.get(signature);
    if (known !== undefined) return known;
    const members: number[] = [];
    this.sites.forEach((siteId, i) => {
      if (siteHolds(this.topology, siteId, record, context)) members.push(i);
    });
    const membersKey = members.join(',');
    let k = this.byMembers.get(membersKey);
    if (k === undefined) {
      const all = members.length === this.sites.length;
      let member: Uint8Array | null = null;
      if (!all && members.length > 8) {
        member = new Uint8Array(this.sites.length);
        for (const i of members) member[i] = 1;
      }
      k = this.classes.push({ all, members: Int32Array.from(members), member }) - 1;
      this.byMembers.set(membersKey, k);
    }
    this.bySignature.set(signature, k);
    return k;
  }

  /** Adds (or with -1 takes away) the change at `p` to the count of every site it goes to whose cursor is before it. */
  private add(p: number, sign: 1 | -1): void {
    const k = this.cls[p]!;
    if (k < 0) return;
    const c = this.cursor[p]!;
    const own = this.src[p]!;
    const { all, members } = this.classes[k]!;
    if (all) {
      for (let i = 0; i < this.sites.length; i++) if (i !== own && this.from[i]! < c) this.counts[i]! += sign;
    } else {
      for (const i of members) if (i !== own && this.from[i]! < c) this.counts[i]! += sign;
    }
  }

  /** Whether the change at `p` goes to site `i`. */
  private goes(p: number, i: number): boolean {
    const k = this.cls[p]!;
    if (k < 0 || this.src[p] === i) return false;
    const { all, members, member } = this.classes[k]!;
    if (all) return true;
    if (member) return member[i] === 1;
    for (const m of members) if (m === i) return true;
    return false;
  }

  /** How many changes at positions [p0, p1) go to site `i`. */
  private rangeCount(i: number, p0: number, p1: number): number {
    let n = 0;
    for (let p = p0; p < p1; p++) if (this.goes(p, i)) n++;
    return n;
  }

  /** The first position whose cursor is after `c`. */
  private firstAfter(c: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cursor[mid]! <= c) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Site `i` now pulls from `c`: its count moves by the changes in between, or is counted after `c`, whichever reads less. */
  private moveCursor(i: number, c: number): void {
    const was = this.from[i]!;
    if (c === was) return;
    this.from[i] = c;
    const end = this.firstAfter(c);
    if (end === this.size) {
      this.counts[i] = 0; // caught up with everything counted
      return;
    }
    const start = this.firstAfter(was);
    if (this.size - end <= Math.abs(start - end)) this.counts[i] = this.rangeCount(i, end, this.size);
    else if (c > was) this.counts[i]! -= this.rangeCount(i, start, end);
    else this.counts[i]! += this.rangeCount(i, end, start);
  }

  /** Every site's count from scratch: changes going to every site by one running sum, the others by their classes. */
  private recountAll(): void {
    const n = this.sites.length;
    this.counts.fill(0);
    const allUpTo = new Int32Array(this.size + 1);
    for (let p = 0; p < this.size; p++) {
      const k = this.cls[p]!;
      const cls = k < 0 ? null : this.classes[k]!;
      allUpTo[p + 1] = allUpTo[p]! + (cls?.all ? 1 : 0);
      if (!cls) continue;
      const c = this.cursor[p]!;
      const own = this.src[p]!;
      if (cls.all) {
        if (own >= 0 && this.from[own]! < c) this.counts[own]!--;
      } else {
        for (const i of cls.members) if (i !== own && this.from[i]! < c) this.counts[i]!++;
      }
    }
    const total = allUpTo[this.size]!;
    for (let i = 0; i < n; i++) this.counts[i]! += total - allUpTo[this.firstAfter(this.from[i]!)]!;
  }

  private grow(): void {
    const capacity = this.cursor.length * 2;
    const cursor = new Float64Array(capacity);
    cursor.set(this.cursor);
    const cls = new Int32Array(capacity);
    cls.set(this.cls);
    const src = new Int32Array(capacity);
    src.set(this.src);
    this.cursor = cursor;
    this.cls = cls;
    this.src = src;
  }

  /** Drops the places records left (more than half): positions are renumbered. */
  private compact(): void {
    let q = 0;
    const patients = new Map<number, SyncRecord>();
    for (let p = 0; p < this.size; p++) {
      if (this.keys[p] === undefined) continue;
      this.cursor[q] = this.cursor[p]!;
      this.cls[q] = this.cls[p]!;
      this.src[q] = this.src[p]!;
      const key = this.keys[p]!;
      this.keys[q] = key;
      this.keyPos.set(key, q);
      const record = this.patientAt.get(p);
      if (record) patients.set(q, record);
      q++;
    }
    this.size = q;
    this.keys.length = q;
    this.patientAt.clear();
    this.byPatient.clear();
    for (const [p, record] of patients) {
      this.patientAt.set(p, record);
      let positions = this.byPatient.get(record.patientId!);
      if (!positions) this.byPatient.set(record.patientId!, (positions = new Set()));
      positions.add(p);
    }
  }
}

function isVisibility(record: SyncRecord): boolean {
  return (VISIBILITY_TYPES as readonly string[]).includes(record.type) && typeof record.patientId === 'string' && record.patientId !== '';
}
