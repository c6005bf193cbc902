/** Unit, e2e and conformance suites share one config; benchmarks never run here. */
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }] },
  moduleNameMapper: {
    '^nestjs-im$': '<rootDir>/lib/index.ts',
    '^nestjs-im/testing$': '<rootDir>/lib/testing/index.ts',
    '^nestjs-im/client$': '<rootDir>/lib/client/index.ts',
  },
  testTimeout: 30000,
};
