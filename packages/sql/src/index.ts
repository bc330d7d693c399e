export * from './schema';
export * from './sql-flavour';
export * from './kysely-sync-storage';
export * from './kysely-settings';
