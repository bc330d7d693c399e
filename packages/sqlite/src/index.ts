export * from './sqlite-migrations';
export * from './sqlite-sync-storage';
