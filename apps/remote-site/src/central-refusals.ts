import { SyncHttpError } from '@sitesync/http';

/** What a refusal's message is about: the data file's site, the central it syncs with, the device it runs on. */
export interface RefusalContext {
  readonly centralUrl: string;
  readonly siteName: string;
  /** null before the central has told this file its site id (init) */
  readonly siteId: number | null;
  /** what this run asked: a sync or status uses the file's settings; init and update check new ones */
  readonly doing: 'sync' | 'status' | 'init' | 'update';
  readonly hardwareId: string;
  /** where the hardware id came from (`--hardware-id`, `SITESYNC_HARDWARE_ID`, /etc/machine-id, the data file) */
  readonly hardwareIdSource: string;
  /** the hardware id this data file last used, when it differs from this device's (a copied file) */
  readonly fileHardwareId?: string | null;
}

/** The central refused this site's credentials or device: the error a remote operator can act on, with the command that fixes it. */
export class CentralRefusalError extends Error {
  override readonly name = 'CentralRefusalError';
  constructor(
    message: string,
    /** the central's error code (`site_auth_failed`, `site_incorrect_hardware_id`, `site_blocked`) */
    readonly code: string,
    options: { readonly cause: unknown },
  ) {
    super(message, options);
  }
}

/** The random ids (UUID v4) earlier versions of sitesync-remote made for a data file, before the hardware id came from the machine. */
const RANDOM_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const siteOption = (siteId: number | null): string => (siteId === null ? '--site ID' : `--site ${siteId}`);

/**
 * The central's refusal of this site's name, password or device, said plainly: what no longer
 * matches and which command updates it. Any other error: null (thrown as it is).
 */
export function explainCentralRefusal(error: unknown, context: RefusalContext): CentralRefusalError | null {
  if (!(error instanceof SyncHttpError)) return null;
  const { centralUrl, siteName, siteId, doing } = context;
  const site = `site ${siteId === null ? '' : `${siteId} `}"${siteName}"`;
  const idNote = siteId === null ? ' (the site id is in `sitesync-central site list`)' : '';
  switch (error.code) {
    case 'site_auth_failed': {
      const message =
        doing === 'init' || doing === 'update'
          ? `The central at ${centralUrl} refused the site name "${siteName}" or the password given: nothing was saved. ` +
            'Check both against the site on the central (names compare exactly; the password is the one set with `sitesync-central site add` or the admin API), then run this command again.'
          : `The central at ${centralUrl} refused the site name "${siteName}" or the password this data file holds: they no longer match the central's ` +
            '(was the site renamed, or its password changed, on the central?). ' +
            'Give this data file the new ones with `sitesync-remote update --site-name NEW-NAME` and/or `--password-file FILE` (checked with the central before anything is saved; the data is kept), then sync again. ' +
            'Every refused attempt from this device counts towards blocking the site (5 in a row).';
      return new CentralRefusalError(message, error.code, { cause: error });
    }
    case 'site_incorrect_hardware_id': {
      const fileId = context.fileHardwareId ?? null;
      const copied =
        fileId === null || fileId === context.hardwareId
          ? ''
          : RANDOM_UUID.test(fileId)
            ? ` This data file was bound with the random hardware id ${fileId} that earlier versions of sitesync-remote made: the id now comes from this machine, so the central must release the old one once.`
            : ` This data file was last used on another device (hardware id ${fileId}): it was copied or restored here, or this machine's id changed.`;
      const message =
        `The central at ${centralUrl} refuses this device for ${site}: the site is bound to another device ` +
        `(this device's hardware id is ${context.hardwareId}, from ${context.hardwareIdSource}).${copied} ` +
        `If this device replaces the old one, stop the old one, then have an administrator run \`sitesync-central site reset-hardware-id ${siteOption(siteId)}\`${idNote} on the central and run this command again. ` +
        'One site must never sync from two devices: for another device of its own, add a new site instead.';
      return new CentralRefusalError(message, error.code, { cause: error });
    }
    case 'site_blocked': {
      const message =
        `The central at ${centralUrl} has blocked ${site} after too many failed logins. ` +
        `Make sure this data file has the right site name and password (\`sitesync-remote update --password-file FILE\`), then have an administrator run \`sitesync-central site unblock ${siteOption(siteId)}\`${idNote} on the central.`;
      return new CentralRefusalError(message, error.code, { cause: error });
    }
    default:
      return null;
  }
}
