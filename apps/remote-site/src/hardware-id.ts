import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The environment variable that names this device's hardware id (containers, machines without a machine id). */
export const HARDWARE_ID_ENV = 'SITESYNC_HARDWARE_ID';

/** Where Linux keeps the machine's id (systemd, then D-Bus), read in this order. */
export const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;

/**
 * Mixed into the machine id before it is hashed: the central sees an id of this app only, never the
 * machine id itself (which other software uses too, and which systemd says not to expose).
 */
const APP_SALT = 'sitesync-remote hardware id v1';

/** An override: printable ASCII (it travels in an HTTP header), at most 200 characters. */
const OVERRIDE = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/** A systemd machine id: 32 lower-case hex digits ("uninitialized" or an empty file is none). */
const MACHINE_ID = /^[0-9a-f]{32}$/i;

/** The id this remote sends the central as its device (`x-sitesync-hardware-id`), and where it came from. */
export interface DeviceIdentity {
  readonly hardwareId: string;
  /** `--hardware-id`, `SITESYNC_HARDWARE_ID` or the machine id file it was derived from */
  readonly source: string;
}

/** This machine has no id to bind the site to, or the override is not usable: the message says what to do. */
export class HardwareIdError extends Error {
  override readonly name = 'HardwareIdError';
}

/**
 * This device's hardware id, computed at every run (never read from the data file, so a file copied
 * to another machine presents that machine's id and is refused by the central):
 *
 * 1. the override, `--hardware-id ID` (`option`) or `SITESYNC_HARDWARE_ID`, as given: for containers,
 *    whose machine id is missing or shared by every container of an image;
 * 2. else the SHA-256 (hex) of an app salt and the machine id in /etc/machine-id, else
 *    /var/lib/dbus/machine-id;
 * 3. else a HardwareIdError naming both ways to give one.
 */
export function deviceIdentity(
  options: {
    readonly option?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly machineIdFiles?: readonly string[];
  } = {},
): DeviceIdentity {
  const env = options.env ?? process.env;
  if (options.option !== undefined) return { hardwareId: checkedOverride(options.option, '--hardware-id'), source: '--hardware-id' };
  const fromEnv = env[HARDWARE_ID_ENV];
  if (fromEnv !== undefined) return { hardwareId: checkedOverride(fromEnv, HARDWARE_ID_ENV), source: HARDWARE_ID_ENV };
  const files = options.machineIdFiles ?? MACHINE_ID_FILES;
  for (const file of files) {
    const machineId = readMachineId(file);
    if (machineId !== null) return { hardwareId: hardwareIdFromMachineId(machineId), source: file };
  }
  throw new HardwareIdError(
    `This machine has no machine id to bind the site to (${files.join(' and ') || 'no file given'}: missing, empty or not a machine id; ` +
      `containers, macOS and Windows have none). Give this device a stable id of its own: set ${HARDWARE_ID_ENV} (e.g. a UUID made once with \`uuidgen\` ` +
      `and kept with the container's or service's configuration, not in the data file), or pass --hardware-id ID. Use the same id on every run: ` +
      `the central refuses another id for the site until an administrator resets it.`,
  );
}

/** The hardware id derived from a machine id: SHA-256 hex of the app salt and the id (lower case). */
export function hardwareIdFromMachineId(machineId: string): string {
  return createHash('sha256').update(`${APP_SALT}\n${machineId.trim().toLowerCase()}`, 'utf8').digest('hex');
}

function readMachineId(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const id = text.trim();
  return MACHINE_ID.test(id) ? id : null;
}

function checkedOverride(value: string, from: string): string {
  const id = value.trim();
  if (id === '')
    throw new HardwareIdError(
      `${from} is empty: give this device's hardware id (a stable id unique to the device, e.g. a UUID), or leave it out to use the machine id.`,
    );
  if (!OVERRIDE.test(id)) {
    throw new HardwareIdError(
      `${from} must be printable ASCII of at most 200 characters (it is sent in an HTTP header); got ${id.length} characters${/[^\x20-\x7e]/.test(id) ? ' with other characters' : ''}. Use e.g. a UUID.`,
    );
  }
  return id;
}
