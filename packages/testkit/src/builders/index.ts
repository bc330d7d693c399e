export * from './topology-builders';
export * from './record-builders';
