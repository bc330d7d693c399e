export * from './builders/index';
export * from './in-memory/index';
export * from './contracts/index';
