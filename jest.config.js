// Tests run the TypeScript sources directly as ES modules (ts-jest, transpile only);
// type checking is `npm run typecheck`, which `npm test` runs first.
export default {
  testEnvironment: '<rootDir>/test/environment.js',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Fails a test that provokes an error whose message shows `undefined`, `NaN` or `[object Object]`.
  setupFilesAfterEnv: ['<rootDir>/test/setup/clean-messages.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testTimeout: 60000,
};
