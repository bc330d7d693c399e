import { isOmsCentralType } from './catalogue';
import type { RuleViolation } from './result';
import { describeSite, type SiteId } from './site';
import type { Topology } from './topology';

/**
 * The two servers a remote site syncs with (seeds 000/001): the mSupply central for everything,
 * and, once a site is flagged as the Open mSupply central server, that site for its data types
 * (configured there: item pack variants, asset catalogue, asset status reasons, demographic
 * indicators; synchronised through it: assets, files, asset logs, store properties, immunisation
 * programs and vaccine courses). Each record type goes through exactly one of them.
 */
export const SYNC_CHANNELS = ['central', 'oms-central'] as const;
export type SyncChannel = (typeof SYNC_CHANNELS)[number];

/** The server a record of `type` syncs through under `topology`. */
export function syncChannelOf(topology: Topology, type: string): SyncChannel {
  return topology.omsCentral && isOmsCentralType(type) ? 'oms-central' : 'central';
}

/**
 * Where a remote keeps its place on each server: its push consumer (of its own change feed), its
 * cursors in the server's feed and resync queue, the namespace of its batch ids and whether its
 * first whole pass over the server's feed is done. The Open mSupply central's are its own: it has
 * its own feed, and a remote starts it from the beginning (every Open mSupply record it wrote is
 * pushed there).
 */
export interface ChannelKeys {
  readonly channel: SyncChannel;
  readonly pushConsumer: string;
  readonly pullCursor: string;
  readonly queueCursor: string;
  readonly namespaceSetting: string;
  readonly initialPullDoneSetting: string;
}

export const CENTRAL_CHANNEL: ChannelKeys = {
  channel: 'central',
  pushConsumer: 'push',
  pullCursor: 'central-pull',
  queueCursor: 'central-queue',
  namespaceSetting: 'sync.push-namespace',
  initialPullDoneSetting: 'sync.initial-pull-done',
};

/**
 * The keys of the Open mSupply central server `omsCentralId` (named by its site: a site flagged in
 * its place is another server, with another feed, and is started from the beginning).
 */
export function omsCentralChannel(omsCentralId: SiteId): ChannelKeys {
  return {
    channel: 'oms-central',
    pushConsumer: `oms-central-push:${omsCentralId}`,
    pullCursor: `oms-central-pull:${omsCentralId}`,
    queueCursor: `oms-central-queue:${omsCentralId}`,
    namespaceSetting: `sync.oms-central-push-namespace:${omsCentralId}`,
    initialPullDoneSetting: `sync.oms-central-initial-pull-done:${omsCentralId}`,
  };
}

/** The keys of the server that syncs records of `type` under `topology`. */
export function channelKeysOf(topology: Topology, type: string): ChannelKeys {
  const oms = topology.omsCentral;
  return oms && isOmsCentralType(type) ? omsCentralChannel(oms.id) : CENTRAL_CHANNEL;
}

/** The push consumers of a remote under `topology`: the central's, and the Open mSupply central's when one is flagged. */
export function pushConsumersOf(topology: Topology | null): readonly string[] {
  const oms = topology?.omsCentral;
  return oms ? [CENTRAL_CHANNEL.pushConsumer, omsCentralChannel(oms.id).pushConsumer] : [CENTRAL_CHANNEL.pushConsumer];
}

/** The refusal of a record sent to the server that does not serve its type, or null. */
export function channelRefusal(
  topology: Topology,
  served: SyncChannel,
  record: { readonly type: string; readonly id: string },
): RuleViolation<'push.other-server'> | null {
  const channel = syncChannelOf(topology, record.type);
  if (channel === served) return null;
  const oms = topology.omsCentral;
  const what = `${record.type} ${record.id}`;
  if (channel === 'oms-central' && oms) {
    return {
      code: 'push.other-server',
      rule: 'Open mSupply central data synchronises with the Open mSupply central server only',
      message: `${what} is Open mSupply central data: it synchronises with the Open mSupply central server (${describeSite(oms)}, ${oms.omsCentralUrl ?? 'no URL'}), not with the mSupply central.`,
      fix: `Edit it on ${describeSite(oms)}; a remote site sends its Open mSupply data there by itself (it learns the URL at each sync).`,
    };
  }
  return {
    code: 'push.other-server',
    rule: 'the Open mSupply central server synchronises only its own data types',
    message: `${what} is not Open mSupply central data: it synchronises with the mSupply central, not with the Open mSupply central server.`,
    fix: 'Send it to the mSupply central (a remote site does this by itself).',
  };
}
