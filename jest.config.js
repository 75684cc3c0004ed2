/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // The emulator's internal tests live beside it (local/emulator/test); the project's suites in test/.
  roots: ['<rootDir>/test', '<rootDir>/local/emulator/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.tools.json' }],
  },
  // Integration and end-to-end suites start real servers; one worker keeps 2-core machines predictable.
  maxWorkers: 1,
  testTimeout: 30000,
};
