/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.tools.json' }],
  },
  // Integration and end-to-end suites start real servers; one worker keeps 2-core machines predictable.
  maxWorkers: 1,
  testTimeout: 30000,
};
