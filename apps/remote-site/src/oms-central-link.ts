import { DEFAULT_REQUEST_SIZE, runOmsCentralExchange, type Clock, type IdGenerator, type SyncProgress, type Topology } from '@sitesync/domain';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { checkCentralUrl, type GatewayFactory, type RemoteConfig } from './remote-config';
import type { OmsCentralHub } from './oms-central-hub';
import { describeFailure } from './remote-status';

/** Where a remote keeps how its last exchange with the Open mSupply central server went. */
export const OMS_CENTRAL_STATE_SETTING = 'sync.oms-central.state';

/** The remote's exchange with the Open mSupply central server, as `status` and `sync` show it. */
export interface OmsCentralState {
  readonly siteId: number;
  /** the URL it was synced with (for the Open mSupply central itself: `in this process`) */
  readonly url: string;
  /** whether this site is the Open mSupply central server */
  readonly thisSite: boolean;
  readonly lastSyncedAt: string | null;
  readonly lastAttemptAt: string;
  /** the last attempt's failure (null when it succeeded), with what to do */
  readonly error: string | null;
  readonly fix: string | null;
  readonly requestSize: number;
}

export interface OmsCentralOutcome {
  readonly url: string;
  readonly pushed: number;
  readonly pulled: number;
  readonly refused: number;
  readonly error: string | null;
}

/**
 * A remote's exchange with the Open mSupply central server after its cycle with the mSupply central
 * (seed 000), at the URL the central's site info gave in that very cycle (a changed URL is followed
 * at once). It never fails the cycle: a wrong or unreachable URL is kept in the state, shown by
 * `status` with the fix, and the records wait (their own push cursor) for the next cycle. The Open
 * mSupply central site itself exchanges with its own server in this process, when one is open
 * (`run --serve`); otherwise it says so. Null when no site is flagged.
 */
export async function syncWithOmsCentral(deps: {
  readonly storage: SqliteSyncStorage;
  readonly gatewayFor: GatewayFactory;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly config: RemoteConfig;
  readonly topology: Topology;
  readonly hub: OmsCentralHub | null;
  readonly onProgress?: (progress: SyncProgress) => void;
}): Promise<OmsCentralOutcome | null> {
  const { storage, config, topology, clock, hub } = deps;
  const oms = topology.omsCentral;
  if (!oms) {
    await storage.run((s) => s.settings.set(OMS_CENTRAL_STATE_SETTING, null));
    return null;
  }
  const before = (await storage.storage.settings.get(OMS_CENTRAL_STATE_SETTING)) as OmsCentralState | null;
  const same = before && before.siteId === oms.id ? before : null;
  const thisSite = oms.id === config.siteId;
  const url = thisSite ? 'in this process' : (oms.omsCentralUrl ?? '');
  const now = clock.now().toISOString();
  const requestSize = same?.requestSize ?? DEFAULT_REQUEST_SIZE;
  const save = (state: Omit<OmsCentralState, 'siteId' | 'url' | 'thisSite' | 'lastAttemptAt'>) =>
    storage.run((s) => s.settings.set(OMS_CENTRAL_STATE_SETTING, { siteId: oms.id, url, thisSite, lastAttemptAt: now, ...state } satisfies OmsCentralState));
  if (thisSite && !hub) {
    const error =
      'This site is the Open mSupply central server: its own Open mSupply data is exchanged with its server while `sitesync-remote run --serve` runs.';
    await save({ lastSyncedAt: same?.lastSyncedAt ?? null, error, fix: 'Run `sitesync-remote run --serve` on this site.', requestSize });
    return { url, pushed: 0, pulled: 0, refused: 0, error };
  }
  try {
    let gateway;
    if (hub) {
      // its server takes the topology from the mSupply central (the one this cycle learnt if it cannot be asked now)
      await hub.refresh().catch(() => hub.adopt(topology));
      gateway = hub.gatewayFor(config.siteId);
    } else {
      checkCentralUrl(url, config.insecure);
      gateway = deps.gatewayFor({ ...config, centralUrl: url });
      // a wrong URL may lead to another server that would refuse (or take) the records: nothing is sent to it
      const said = await gateway.health?.();
      if (said && (said.role !== 'oms-central' || said.siteId !== oms.id)) {
        const is =
          said.role === 'oms-central'
            ? `the Open mSupply central server of site ${String(said.siteId)}`
            : 'not an Open mSupply central server (a sitesync central, or another service)';
        throw new Error(`${url} answered, but it is ${is}, not site ${oms.id}'s. Nothing was sent to it`);
      }
    }
    const report = await runOmsCentralExchange({ unitOfWork: storage, gateway, clock, ids: deps.ids }, config.siteId, topology, {
      requestSize,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    });
    await save({ lastSyncedAt: clock.now().toISOString(), error: null, fix: null, requestSize: report.requestSize });
    return { url, pushed: report.pushed, pulled: report.pulled, refused: report.refused.length, error: null };
  } catch (failure) {
    const error = `The Open mSupply central server (site ${oms.id}) at ${url} could not be synced with: ${describeFailure(failure, 60_000)}`;
    const fix = thisSite
      ? 'Check the Open mSupply central server file beside the data file, and the log.'
      : `Check that ${url} is the Open mSupply central server's address and that it runs (\`sitesync-remote run --serve\` on site ${oms.id}); ` +
        `if the address is wrong, correct it on the mSupply central (sitesync-central site set --site ${oms.id} --oms-central-url URL): this site follows at its next sync. ` +
        'Its Open mSupply data waits here meanwhile; the sync with the mSupply central is not affected.';
    await save({ lastSyncedAt: same?.lastSyncedAt ?? null, error, fix, requestSize });
    return { url, pushed: 0, pulled: 0, refused: 0, error };
  }
}
