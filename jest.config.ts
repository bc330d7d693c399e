import type { Config } from 'jest';

const packages = [
  { name: 'domain', dir: 'packages/domain' },
  { name: 'testkit', dir: 'packages/testkit' },
  { name: 'sqlite', dir: 'packages/sqlite' },
  { name: 'postgres', dir: 'packages/postgres' },
  { name: 'http', dir: 'packages/http' },
  { name: 'central', dir: 'apps/central-server' },
  { name: 'remote', dir: 'apps/remote-site' },
  { name: 'demo', dir: 'apps/demo' },
] as const;

const moduleNameMapper = {
  '^@sitesync/domain$': '<rootDir>/packages/domain/src/index.ts',
  '^@sitesync/testkit$': '<rootDir>/packages/testkit/src/index.ts',
  '^@sitesync/sql$': '<rootDir>/packages/sql/src/index.ts',
  '^@sitesync/sqlite$': '<rootDir>/packages/sqlite/src/index.ts',
  '^@sitesync/postgres$': '<rootDir>/packages/postgres/src/index.ts',
  '^@sitesync/http$': '<rootDir>/packages/http/src/index.ts',
  '^@sitesync/central-server$': '<rootDir>/apps/central-server/src/index.ts',
  '^@sitesync/remote-site$': '<rootDir>/apps/remote-site/src/index.ts',
};

const config: Config = {
  // PGlite starts in seconds, and the real-server concurrency test runs for a few.
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  projects: packages.map(({ name, dir }) => ({
    displayName: name,
    rootDir: __dirname,
    testEnvironment: 'node',
    testMatch: [`<rootDir>/${dir}/test/**/*.test.ts`],
    moduleNameMapper,
    transform: {
      // Type checking is done once by `tsc -b` (run by `npm test` before Jest) and by the test
      // tsconfig in `npm run lint`; Jest only transpiles.
      '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json', diagnostics: false }],
    },
  })),
};

export default config;
