export * from './postgres-migrations';
export * from './postgres-sync-storage';
export * from './pglite-pool';
