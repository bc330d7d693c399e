import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceIdentity, HARDWARE_ID_ENV, HardwareIdError, hardwareIdFromMachineId } from '../src/hardware-id';

describe("a remote's hardware id comes from the machine, not from its data file", () => {
  let dir: string;
  const MACHINE = '0123456789abcdef0123456789abcdef';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sitesync-hardware-id-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('is the SHA-256 of an app salt and the machine id: stable, and never the machine id itself', () => {
    const machineId = file('machine-id', `${MACHINE}\n`);
    const identity = deviceIdentity({ env: {}, machineIdFiles: [machineId] });
    expect(identity).toEqual({ hardwareId: hardwareIdFromMachineId(MACHINE), source: machineId });
    expect(identity.hardwareId).toMatch(/^[0-9a-f]{64}$/);
    expect(identity.hardwareId).not.toContain(MACHINE);
    expect(identity.hardwareId).not.toBe(createHash('sha256').update(MACHINE).digest('hex'));
    expect(deviceIdentity({ env: {}, machineIdFiles: [machineId] })).toEqual(identity);
  });

  it('differs from machine to machine', () => {
    expect(hardwareIdFromMachineId(MACHINE)).not.toBe(hardwareIdFromMachineId('fedcba9876543210fedcba9876543210'));
  });

  it('falls back to /var/lib/dbus/machine-id when /etc/machine-id is missing, empty or "uninitialized"', () => {
    const dbus = file('dbus-machine-id', MACHINE);
    for (const first of [join(dir, 'missing'), file('empty', ''), file('uninitialized', 'uninitialized\n')]) {
      expect(deviceIdentity({ env: {}, machineIdFiles: [first, dbus] })).toEqual({ hardwareId: hardwareIdFromMachineId(MACHINE), source: dbus });
    }
  });

  it(`is overridden by --hardware-id, then ${HARDWARE_ID_ENV} (containers), as given`, () => {
    const machineId = file('machine-id', MACHINE);
    const env = { [HARDWARE_ID_ENV]: ' container-7f3a ' };
    expect(deviceIdentity({ env, machineIdFiles: [machineId] })).toEqual({ hardwareId: 'container-7f3a', source: HARDWARE_ID_ENV });
    expect(deviceIdentity({ option: 'from-option', env, machineIdFiles: [machineId] })).toEqual({ hardwareId: 'from-option', source: '--hardware-id' });
  });

  it('without a machine id or an override, refuses with what to do', () => {
    const run = () => deviceIdentity({ env: {}, machineIdFiles: [join(dir, 'no-etc-machine-id'), join(dir, 'no-dbus-machine-id')] });
    expect(run).toThrow(HardwareIdError);
    expect(run).toThrow(/no machine id to bind the site to/);
    expect(run).toThrow(new RegExp(`set ${HARDWARE_ID_ENV}.*or pass --hardware-id ID`));
  });

  it('refuses an empty override or one that cannot travel in an HTTP header, naming where it came from', () => {
    expect(() => deviceIdentity({ env: { [HARDWARE_ID_ENV]: '  ' } })).toThrow(`${HARDWARE_ID_ENV} is empty`);
    expect(() => deviceIdentity({ option: 'caf\u00e9-device', env: {} })).toThrow(/--hardware-id must be printable ASCII of at most 200 characters/);
    expect(() => deviceIdentity({ option: 'x'.repeat(201), env: {} })).toThrow(/got 201 characters/);
  });
});
