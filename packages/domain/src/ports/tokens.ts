/** Identifiers for binding the ports in a composition root (plain symbols: no DI library here). */
export const TOKENS = Object.freeze({
  TopologyRepository: Symbol.for('sitesync.TopologyRepository'),
  RecordStore: Symbol.for('sitesync.RecordStore'),
  ChangeFeed: Symbol.for('sitesync.ChangeFeed'),
  InboundBuffer: Symbol.for('sitesync.InboundBuffer'),
  IssueLog: Symbol.for('sitesync.IssueLog'),
  PushLedger: Symbol.for('sitesync.PushLedger'),
  SettingsStore: Symbol.for('sitesync.SettingsStore'),
  ResyncQueue: Symbol.for('sitesync.ResyncQueue'),
  UnitOfWork: Symbol.for('sitesync.UnitOfWork'),
  Clock: Symbol.for('sitesync.Clock'),
  IdGenerator: Symbol.for('sitesync.IdGenerator'),
  PasswordHasher: Symbol.for('sitesync.PasswordHasher'),
  CentralSyncGateway: Symbol.for('sitesync.CentralSyncGateway'),
});
