import type { Clock } from '@sitesync/domain';
import { CentralRefusalError } from './central-refusals';
import { CREDENTIALS_RETRY_MS, type SyncOutcome } from './remote-config';
import type { RemoteSite } from './remote-site';

export interface ScheduleOptions {
  readonly signal: AbortSignal;
  readonly intervalMinutes?: number;
  readonly onCycle?: (outcome: SyncOutcome | Error) => void;
  /** waits between cycles (tests); default a timer that the signal ends */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * `sitesync-remote run`: syncs `site` every `intervalMinutes` (at least 1; default the site's
 * interval from the central) until `signal` aborts; a failed cycle (network down) is retried with
 * backoff from 5 seconds up to the interval. When the central refuses the site's name or password
 * (or the site is blocked), the same credentials are tried again only after CREDENTIALS_RETRY_MS:
 * each refused attempt from this device counts towards blocking the site, and nothing changes until
 * they are updated (`sitesync-remote update`, seen within a minute) or restored on the central.
 */
export async function runOnSchedule(site: RemoteSite, clock: Clock, options: ScheduleOptions): Promise<void> {
  const wait = options.sleep ?? sleep;
  let backoffMs = 5_000;
  let refused: { readonly credentials: string; readonly at: number } | null = null;
  while (!options.signal.aborted) {
    const config = await site.config();
    if (!config)
      throw new Error('This remote site is not initialised: run `sitesync-remote init --central-url URL --site-name NAME --password PASSWORD` first.');
    const topology = await site.topology().catch(() => null);
    const minutes = Math.max(1, options.intervalMinutes ?? topology?.site(config.siteId)?.syncIntervalMinutes ?? 10);
    const credentials = JSON.stringify([config.centralUrl, config.siteName, config.passwordSha256]);
    if (refused && refused.credentials === credentials && clock.now().getTime() - refused.at < CREDENTIALS_RETRY_MS) {
      await wait(60_000, options.signal);
      continue;
    }
    refused = null;
    let waitMs = minutes * 60_000;
    try {
      options.onCycle?.(await site.sync());
      backoffMs = 5_000;
    } catch (error) {
      options.onCycle?.(error instanceof Error ? error : new Error(String(error)));
      if (error instanceof CentralRefusalError && (error.code === 'site_auth_failed' || error.code === 'site_blocked')) {
        refused = { credentials, at: clock.now().getTime() };
      }
      waitMs = Math.min(backoffMs, waitMs);
      backoffMs = Math.min(backoffMs * 2, minutes * 60_000);
    }
    await wait(waitMs, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
