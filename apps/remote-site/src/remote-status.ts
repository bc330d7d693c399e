import { CENTRAL_PULL_CURSOR, countUnpushed, PULL_FAILURE_PREFIX } from '@sitesync/domain';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { explainCentralRefusal } from './central-refusals';
import type { DeviceIdentity } from './hardware-id';
import { OMS_CENTRAL_STATE_SETTING, type OmsCentralState } from './oms-central-link';
import { checkCentralUrl, STATUS_TIMEOUT_MS, type GatewayFactory, type RemoteConfig, type RemoteStatus } from './remote-config';

/**
 * `sitesync-remote status`: what this data file holds back (its changes not pushed, to either
 * server), what failed and why, how the last exchange with the Open mSupply central server went,
 * and (unless `askCentral` is false) what waits for the site on the central. Never throws for the
 * central: one that cannot be asked is said so, beside the outgoing counts.
 */
export async function readStatus(deps: {
  readonly storage: SqliteSyncStorage;
  readonly config: RemoteConfig;
  readonly askCentral: boolean;
  readonly device: () => DeviceIdentity;
  readonly gatewayFor: GatewayFactory;
}): Promise<RemoteStatus> {
  const { storage, config } = deps;
  const topology = await storage.storage.topology.load();
  const waitingToPush = await countUnpushed(storage.storage, topology, config.siteId);
  const failed = await storage.storage.issues.open();
  const omsCentral = (await storage.storage.settings.get(OMS_CENTRAL_STATE_SETTING)) as OmsCentralState | null;
  return {
    ...(topology?.omsCentral?.id === config.siteId ? { role: 'Open mSupply central server' } : {}),
    siteId: config.siteId,
    siteName: config.siteName,
    centralUrl: config.centralUrl,
    waitingToPush,
    lastSyncedAt: config.lastSyncedAt,
    failed,
    pullFailures: failed.filter((issue) => issue.key.startsWith(PULL_FAILURE_PREFIX)).length,
    incoming: deps.askCentral ? await incoming(deps) : { waiting: null, error: 'The central was not asked.' },
    omsCentral: omsCentral ?? null,
  };
}

/** What waits for this site on the central; never throws. */
async function incoming(deps: Parameters<typeof readStatus>[0]): Promise<RemoteStatus['incoming']> {
  const { config } = deps;
  let device: DeviceIdentity | null = null;
  try {
    checkCentralUrl(config.centralUrl, config.insecure);
    device = deps.device();
    const gateway = deps.gatewayFor({ ...config, hardwareId: device.hardwareId, timeoutMs: STATUS_TIMEOUT_MS });
    if (!gateway.status) return { waiting: null, error: "This remote's gateway cannot ask the central what waits for the site." };
    const cursor = await deps.storage.storage.changes.cursorOf(CENTRAL_PULL_CURSOR);
    return { waiting: (await gateway.status(cursor)).waiting };
  } catch (error) {
    const refusal = device
      ? explainCentralRefusal(error, {
          ...config,
          doing: 'status',
          hardwareId: device.hardwareId,
          hardwareIdSource: device.source,
          fileHardwareId: config.hardwareId,
        })
      : null;
    return {
      waiting: null,
      error: refusal?.message ?? `The central at ${config.centralUrl} could not be asked what waits for this site: ${describeFailure(error)}`,
    };
  }
}

/** A failed request in a few words: fetch's "fetch failed" says nothing without its cause (ECONNREFUSED, a certificate, a timeout). */
export function describeFailure(error: unknown, timeoutMs = STATUS_TIMEOUT_MS): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : null;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s.`;
  return cause ? `${error.message} (${code ? `${code}: ` : ''}${cause.message}).` : `${error.message}.`;
}
