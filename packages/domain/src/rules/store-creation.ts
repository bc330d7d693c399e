import type { SyncRecord } from '../record';
import { hasRole, type SiteId } from '../site';
import type { StoreInput } from '../store';
import type { Topology } from '../topology';

/** A text field of a record's data, trimmed, or null when absent or blank. */
function textOf(record: SyncRecord, field: string): string | null {
  const value = record.data[field];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * Mirrored sync (seed 002): "the store must be created first on the primary server. It will then
 * sync to the central server, where the store's site can then be assigned". The store a `store`
 * record written on a mirrored primary (the primary is not the central) creates when its `storeId`
 * names no store yet: active on the primary, with a collector copy on the central, named from the
 * record's `name` and `code` (its id otherwise). Null for any other record, site or setup.
 */
export function storeCreatedOnPrimary(topology: Topology, siteId: SiteId, record: SyncRecord): StoreInput | null {
  if (record.type !== 'store' || record.deleted === true || !record.storeId || topology.store(record.storeId)) return null;
  const primary = topology.primary;
  if (primary.id !== siteId || hasRole(primary, 'central')) return null;
  return {
    id: record.storeId,
    code: textOf(record, 'code') ?? record.storeId,
    name: textOf(record, 'name') ?? record.storeId,
    activeSiteId: primary.id,
    copies: [{ siteId: topology.central.id, type: 'collector' }],
  };
}

/** The topology a record is decided on: with the store it creates on a mirrored primary (`storeCreatedOnPrimary`), when the rules allow that store. */
export function topologyForRecord(topology: Topology, siteId: SiteId, record: SyncRecord): Topology {
  const created = storeCreatedOnPrimary(topology, siteId, record);
  if (!created) return topology;
  const next = topology.withStore(created);
  return next.ok ? next.value : topology;
}

/** The topology with every store created on the mirrored primary by these records, or null when they create none. */
export function withStoresCreatedOnPrimary(topology: Topology, siteId: SiteId, records: readonly SyncRecord[]): Topology | null {
  let next = topology;
  for (const record of records) next = topologyForRecord(next, siteId, record);
  return next === topology ? null : next;
}
