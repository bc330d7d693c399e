export * from './remote-site';
export * from './remote-config';
export * from './container';
