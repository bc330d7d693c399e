export * from './central-server';
