export * from './remote-site';
export * from './container';
