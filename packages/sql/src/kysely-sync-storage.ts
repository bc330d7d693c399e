import { type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import { type Kysely } from 'kysely';
import { KyselyInboundBuffer } from './kysely-inbound-buffer';
import { KyselyIssueLog } from './kysely-issue-log';
import { KyselyPushLedger, KyselySettingsStore } from './kysely-settings';
import { KyselyResyncQueue } from './kysely-resync-queue';
import type { SyncDb } from './schema';
import { type SqlFlavour } from './sql-flavour';
import { KyselyChangeFeed } from './kysely-change-feed';
import { KyselyRecordStore } from './kysely-record-store';
import { KyselyTopologyRepository } from './kysely-topology-repository';

/** Storage over Kysely: every port, and a unit of work that is one database transaction. */
export interface KyselySyncStorage extends UnitOfWork {
  /** the ports outside any unit of work: each call is its own transaction */
  readonly storage: SyncStorage;
}

export function createKyselySyncStorage(db: Kysely<SyncDb>, flavour: SqlFlavour): KyselySyncStorage {
  return {
    storage: portsOver(db, flavour),
    run: <T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> =>
      db.isTransaction ? work(portsOver(db, flavour)) : db.transaction().execute((trx) => work(portsOver(trx, flavour))),
  };
}

function portsOver(db: Kysely<SyncDb>, flavour: SqlFlavour): SyncStorage {
  return {
    topology: new KyselyTopologyRepository(db, flavour),
    records: new KyselyRecordStore(db, flavour),
    changes: new KyselyChangeFeed(db, flavour),
    inbound: new KyselyInboundBuffer(db, flavour),
    issues: new KyselyIssueLog(db, flavour),
    pushes: new KyselyPushLedger(db, flavour),
    settings: new KyselySettingsStore(db),
    resync: new KyselyResyncQueue(db, flavour),
  };
}
