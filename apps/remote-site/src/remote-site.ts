import {
  buildTopology,
  CENTRAL_PULL_CURSOR,
  CENTRAL_TOPOLOGY_VERSION_SETTING,
  recordLocalChange,
  runSiteProcessors,
  processorWrites,
  planInitialisation,
  runSyncCycle,
  DEFAULT_REQUEST_SIZE,
  type Clock,
  type LocalChangeRefusal,
  type IdGenerator,
  type Result,
  type RuleViolation,
  type SyncProgress,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { CentralRefusalError, explainCentralRefusal, type RefusalContext } from './central-refusals';
import type { DeviceIdentity } from './hardware-id';
import type { OmsCentralHub } from './oms-central-hub';
import { syncWithOmsCentral } from './oms-central-link';
import { describeStorageError } from './storage-errors';
import { runOnSchedule, type ScheduleOptions } from './remote-schedule';
import { readStatus } from './remote-status';
import { checkSiteExportFile, importSiteExport, SiteExportFileError, type CheckedSiteExport } from './site-import';
import {
  CONFIG_SETTING,
  type RemoteConfig,
  checkCentralUrl,
  type RemoteStatus,
  type SyncOutcome,
  type GatewayFactory,
  type RemoteUpdate,
} from './remote-config';

/**
 * A remote site: its SQLite storage and its sync with the central. Everything it knows lives in
 * the storage (its configuration in the settings store, apart from the records), so a restart, or
 * a crash, picks up where it was.
 */
export class RemoteSite {
  constructor(
    private readonly storage: SqliteSyncStorage,
    private readonly gatewayFor: GatewayFactory,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    /** the data file, named in storage errors */
    private readonly dataFile = ':memory:',
    /**
     * this device's hardware id, computed when a request needs it (the CLI: the machine id or an
     * override); absent, the id given to init and kept in the data file is used
     */
    private readonly device?: () => DeviceIdentity,
  ) {}

  /** The Open mSupply central server this site runs (`run --serve`), or null. */
  private hub: OmsCentralHub | null = null;

  /** This site serves as the Open mSupply central server through `hub` (its own Open mSupply data is exchanged with it at each sync). */
  serveOmsCentral(hub: OmsCentralHub | null): void {
    this.hub = hub;
  }

  /** The hardware id this run presents: the device's, or (without a device) the file's or the one given. */
  private deviceOf(config: Pick<RemoteConfig, 'hardwareId'> | null, given?: string): DeviceIdentity {
    if (this.device) return this.device();
    const hardwareId = config?.hardwareId ?? given;
    if (hardwareId === undefined) throw new Error('No hardware id: give init a hardwareId, or compose the remote site with a device.');
    return { hardwareId, source: config ? `the data file ${this.dataFile}` : 'init' };
  }

  /** The central's refusal of the credentials or device said plainly, or the error as it was. */
  private refusal(error: unknown, context: RefusalContext): unknown {
    return explainCentralRefusal(error, context) ?? error;
  }

  async config(): Promise<RemoteConfig | null> {
    const value = await this.storage.storage.settings.get(CONFIG_SETTING);
    return value === null ? null : (value as RemoteConfig);
  }

  private async requireConfig(): Promise<RemoteConfig> {
    const config = await this.config();
    if (!config)
      throw new Error('This remote site is not initialised: run `sitesync-remote init --central-url URL --site-name NAME --password PASSWORD` first.');
    return config;
  }

  private async saveConfig(config: RemoteConfig): Promise<void> {
    await this.storage.storage.settings.set(CONFIG_SETTING, config);
  }

  /** Binds this data file to a site of the central: checks the credentials and fetches the site's place in the topology. */
  async init(input: {
    centralUrl: string;
    siteName: string;
    passwordSha256: string;
    /** this device's id when the remote has no device of its own (tests, embedding services); ignored with one */
    hardwareId?: string;
    insecure?: boolean;
    caFile?: string | null;
  }): Promise<RemoteConfig> {
    checkCentralUrl(input.centralUrl, input.insecure);
    const existing = await this.config();
    if (existing && (existing.siteName !== input.siteName || existing.centralUrl !== input.centralUrl)) {
      throw new Error(
        `This data file already belongs to site "${existing.siteName}" of ${existing.centralUrl}: use another --data file for another site. ` +
          'If this site was renamed on the central, or the central moved, give the file its new name or address with `sitesync-remote update --site-name NAME --central-url URL` (the data is kept).',
      );
    }
    const device = this.deviceOf(existing, input.hardwareId);
    const info = await this.gatewayFor({ ...input, caFile: input.caFile ?? null, hardwareId: device.hardwareId })
      .siteInfo()
      .catch((error: unknown) => {
        throw this.refusal(error, {
          ...input,
          siteId: existing?.siteId ?? null,
          doing: 'init',
          hardwareId: device.hardwareId,
          hardwareIdSource: device.source,
        });
      });
    const config: RemoteConfig = {
      centralUrl: input.centralUrl,
      siteName: input.siteName,
      passwordSha256: input.passwordSha256,
      hardwareId: device.hardwareId,
      siteId: info.siteId,
      requestSize: existing?.requestSize ?? DEFAULT_REQUEST_SIZE,
      lastSyncedAt: existing?.lastSyncedAt ?? null,
      insecure: input.insecure === true,
      caFile: input.caFile ?? null,
    };
    if (info.topology) {
      const built = buildTopology(info.topology);
      if (!built.ok) throw new Error(`the central sent a topology that breaks the rules: ${built.error.map((v) => v.message).join(' ')}`);
      await this.storage.run(async (s) => {
        await s.topology.save(built.value);
        await s.settings.set(CENTRAL_TOPOLOGY_VERSION_SETTING, null); // the first cycle gets the topology whole, and applies it to the file's data
      });
    }
    await this.saveConfig(config);
    return config;
  }

  /**
   * Starts a new data file from a site export (`sitesync-central site export`) instead of a full
   * pull: checks the whole file, checks the credentials with the central (the file must be of this
   * site), binds this device, imports the records, and sets the cursors last; the next sync brings
   * only what changed since the export. Refused when the data file already holds records.
   */
  async initFromExport(
    input: Parameters<RemoteSite['init']>[0] & {
      readonly file: string;
      /** records per unit of work (default IMPORT_BATCH) */
      readonly batchSize?: number;
    },
  ): Promise<{
    readonly config: RemoteConfig;
    readonly export: CheckedSiteExport;
    readonly imported: number;
    readonly keptWithErrors: number;
  }> {
    checkCentralUrl(input.centralUrl, input.insecure);
    const { records, changes } = this.storage.storage;
    if ((await records.select({}, { limit: 1 })).length > 0 || (await changes.cursorOf(CENTRAL_PULL_CURSOR)) > 0n) {
      throw new Error(
        `${this.dataFile} already holds records: init --from-file starts a new data file. Give another --data file, or set this one aside (init --reinitialise --from-file FILE does both).`,
      );
    }
    const checked = await checkSiteExportFile(input.file);
    const { header } = checked;
    if (header.siteName !== input.siteName) {
      throw new SiteExportFileError(
        input.file,
        1,
        `is the export of site ${header.siteId} "${header.siteName}", not of "${input.siteName}".`,
        `Import the export of "${input.siteName}" (sitesync-central site export --site ID --out FILE), or give --site-name "${header.siteName}".`,
      );
    }
    const existing = await this.config();
    const device = this.deviceOf(existing, input.hardwareId);
    const info = await this.gatewayFor({ ...input, caFile: input.caFile ?? null, hardwareId: device.hardwareId })
      .siteInfo()
      .catch((error: unknown) => {
        throw this.refusal(error, { ...input, siteId: header.siteId, doing: 'init', hardwareId: device.hardwareId, hardwareIdSource: device.source });
      });
    if (info.siteId !== header.siteId) {
      throw new SiteExportFileError(
        input.file,
        1,
        `is the export of site ${header.siteId}, but the central at ${input.centralUrl} knows "${input.siteName}" as site ${info.siteId}: it comes from another central, or the site was made again.`,
        `Export the site again from the central at ${input.centralUrl}.`,
      );
    }
    const config = await this.init(input);
    const { imported, keptWithErrors } = await importSiteExport(this.storage, checked, () => this.clock.now(), input.batchSize);
    return { config, export: checked, imported, keptWithErrors };
  }

  /**
   * Gives this data file a new site name, central URL or password (seed 003: after the site was
   * renamed or its password changed on the central, the remote must be updated to sync again). The
   * new credentials are checked with the central first, which must know them as this file's site;
   * only then are they saved. The data, cursors and everything else in the file are kept.
   */
  async update(input: RemoteUpdate): Promise<{ readonly before: RemoteConfig; readonly after: RemoteConfig; readonly changed: readonly string[] }> {
    const before = await this.requireConfig();
    const candidate: RemoteConfig = {
      ...before,
      ...(input.siteName !== undefined ? { siteName: input.siteName } : {}),
      ...(input.centralUrl !== undefined ? { centralUrl: input.centralUrl } : {}),
      ...(input.passwordSha256 !== undefined ? { passwordSha256: input.passwordSha256 } : {}),
      ...(input.insecure !== undefined ? { insecure: input.insecure } : {}),
      ...(input.caFile !== undefined ? { caFile: input.caFile } : {}),
    };
    const changed = (['siteName', 'centralUrl', 'passwordSha256', 'insecure', 'caFile'] as const)
      .filter((key) => (candidate[key] ?? null) !== (before[key] ?? null))
      .map((key) => (key === 'passwordSha256' ? 'password' : key));
    if (changed.length === 0) {
      throw new Error(
        `Nothing to update: ${this.dataFile} already holds site "${before.siteName}" of ${before.centralUrl} with this password. ` +
          'Give what changed on the central: --site-name NAME, --central-url URL, and/or a new password (--password-file FILE, SITESYNC_SITE_PASSWORD or --password).',
      );
    }
    if (input.siteName !== undefined && input.siteName.trim() === '') throw new Error('--site-name is empty: give the site name as it is on the central.');
    checkCentralUrl(candidate.centralUrl, candidate.insecure);
    const device = this.deviceOf(before);
    const info = await this.gatewayFor({ ...candidate, caFile: candidate.caFile ?? null, hardwareId: device.hardwareId })
      .siteInfo()
      .catch((error: unknown) => {
        throw this.refusal(error, { ...candidate, siteId: before.siteId, doing: 'update', hardwareId: device.hardwareId, hardwareIdSource: device.source });
      });
    if (info.siteId !== before.siteId) {
      throw new Error(
        `The central at ${candidate.centralUrl} knows "${candidate.siteName}" as site ${info.siteId}, but ${this.dataFile} is the data file of site ${before.siteId} ("${before.siteName}"): nothing was saved. ` +
          `Give the name site ${before.siteId} has on the central now (sitesync-central site list), or start a data file for site ${info.siteId} with \`sitesync-remote init\` and another --data file.`,
      );
    }
    const after: RemoteConfig = { ...candidate, hardwareId: device.hardwareId };
    await this.saveConfig(after);
    return { before, after, changed };
  }

  /**
   * One cycle: push, pull, complete this site's transfers, and push what that produced. A failure
   * of the data file (disk full, locked by another process) is thrown with its SQLite `code` and a
   * message naming the file, the cause and what to do.
   */
  async sync(onProgress?: (progress: SyncProgress) => void): Promise<SyncOutcome> {
    try {
      return await this.syncOnce(onProgress);
    } catch (error) {
      if (error instanceof CentralRefusalError) throw error;
      const problem = describeStorageError(error, this.dataFile);
      if (!problem) throw error;
      throw Object.assign(new Error(problem.message, { cause: error }), { code: problem.code });
    }
  }

  private async syncOnce(onProgress?: (progress: SyncProgress) => void): Promise<SyncOutcome> {
    const config = await this.requireConfig();
    checkCentralUrl(config.centralUrl, config.insecure);
    const device = this.deviceOf(config);
    const gateway = this.gatewayFor({ ...config, hardwareId: device.hardwareId });
    const deps = { unitOfWork: this.storage, gateway, clock: this.clock, ids: this.ids };
    const context: RefusalContext = {
      ...config,
      doing: 'sync',
      hardwareId: device.hardwareId,
      hardwareIdSource: device.source,
      fileHardwareId: config.hardwareId,
    };
    const first = await runSyncCycle(deps, config.siteId, { requestSize: config.requestSize, ...(onProgress ? { onProgress } : {}) }).catch(
      (error: unknown) => {
        throw this.refusal(error, context);
      },
    );
    const processed = await runSiteProcessors({ unitOfWork: this.storage, clock: this.clock }, first.topology, config.siteId);
    let pushed = first.pushed;
    let pulled = first.pulled;
    let refused = first.refused.length;
    let pullFailures = first.pullFailures;
    let namespaceRenewals = first.namespaceRenewals;
    let requestSize = first.requestSize;
    let topology = first.topology;
    if (processorWrites(processed) > 0) {
      const second = await runSyncCycle(deps, config.siteId, { requestSize, ...(onProgress ? { onProgress } : {}) }).catch((error: unknown) => {
        throw this.refusal(error, context);
      });
      pushed += second.pushed;
      pulled += second.pulled;
      refused += second.refused.length;
      pullFailures += second.pullFailures;
      namespaceRenewals += second.namespaceRenewals;
      requestSize = second.requestSize;
      topology = second.topology;
    }
    await this.saveConfig({ ...config, hardwareId: device.hardwareId, requestSize, lastSyncedAt: this.clock.now().toISOString() });
    // then the Open mSupply central server, at the URL this cycle learnt; its failure never fails the cycle
    const omsCentral = await syncWithOmsCentral({
      storage: this.storage,
      gatewayFor: (gatewayConfig) => this.gatewayFor({ ...gatewayConfig, hardwareId: device.hardwareId }),
      clock: this.clock,
      ids: this.ids,
      config,
      topology,
      hub: this.hub,
      ...(onProgress ? { onProgress } : {}),
    });
    return {
      omsCentral,
      pushed,
      pulled,
      refused,
      pullFailures,
      namespaceRenewals,
      transfersCreated: processed.transfers.created.length,
      transfersNumbered: processed.numbered.length,
    };
  }

  /** What the central cannot give back to this site (stores whose data it does not collect): printed by init. */
  async initialisationWarnings(): Promise<readonly RuleViolation[]> {
    const config = await this.requireConfig();
    const topology = await this.storage.storage.topology.load();
    return topology && topology.site(config.siteId) ? planInitialisation(topology, config.siteId).warnings : [];
  }

  async topology(): Promise<Topology> {
    const topology = await this.storage.storage.topology.load();
    if (!topology) throw new Error('This remote site has not synced yet: run `sitesync-remote sync` first.');
    return topology;
  }

  /**
   * The topology the central tells this site now, asked with this file's credentials; `topology`
   * null when it is still the one of `heldVersion`. Nothing of this data file changes (its own
   * cycle applies the topology to its data): for the Open mSupply central server it runs.
   */
  async centralTopology(heldVersion: string | null): Promise<{ readonly topology: Topology | null; readonly version: string | null }> {
    const config = await this.requireConfig();
    const device = this.deviceOf(config);
    const info = await this.gatewayFor({ ...config, hardwareId: device.hardwareId }).siteInfo(heldVersion !== null ? { topologyVersion: heldVersion } : {});
    if (info.siteId !== config.siteId) throw new Error(`the central answered for site ${info.siteId}, but this is site ${config.siteId}`);
    if (!info.topology) return { topology: null, version: info.topologyVersion ?? null };
    const built = buildTopology(info.topology);
    if (!built.ok) throw new Error(`the central sent a topology that breaks the rules: ${built.error.map((v) => v.message).join(' ')}`);
    return { topology: built.value, version: info.topologyVersion ?? null };
  }

  /** Enters records on this site: the ownership rules apply; transfers between this site's stores complete at once. */
  async putRecords(records: readonly SyncRecord[]): Promise<Result<{ written: number }, readonly LocalChangeRefusal[]>> {
    const config = await this.requireConfig();
    const topology = await this.topology();
    const result = await recordLocalChange({ unitOfWork: this.storage }, topology, config.siteId, records);
    if (!result.ok) return result;
    await runSiteProcessors({ unitOfWork: this.storage, clock: this.clock }, topology, config.siteId);
    return { ok: true, value: { written: result.value.written } };
  }

  async listRecords(type: string): Promise<SyncRecord[]> {
    const out: SyncRecord[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await this.storage.storage.records.list(type, { limit: 1000, ...(afterId !== undefined ? { afterId } : {}) });
      out.push(...page);
      if (page.length < 1000) return out;
      afterId = page[page.length - 1]!.id;
    }
  }

  /** `askCentral: false`: this file's counts only (`incoming` then says it was not asked). */
  async status(options: { readonly askCentral?: boolean } = {}): Promise<RemoteStatus> {
    const config = await this.requireConfig();
    return readStatus({
      storage: this.storage,
      config,
      askCentral: options.askCentral !== false,
      device: () => this.deviceOf(config),
      gatewayFor: this.gatewayFor,
    });
  }

  /** Syncs on the site's interval until `signal` aborts (`runOnSchedule`). */
  run(options: ScheduleOptions): Promise<void> {
    return runOnSchedule(this, this.clock, options);
  }
}
