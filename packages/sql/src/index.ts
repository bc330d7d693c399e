export * from './schema';
export * from './sql-flavour';
export * from './kysely-sync-storage';
export * from './kysely-inbound-buffer';
export * from './kysely-issue-log';
export * from './kysely-settings';
export * from './kysely-resync-queue';
export * from './number-sequences';
