// jest: a global set-up starts one broker and hands its URL to the tests through the environment
// (the set-up runs outside the tests' context, so the broker object itself cannot be shared).
module.exports = {
  rootDir: __dirname,
  testMatch: ['**/*.test.cjs'],
  globalSetup: './global-setup.cjs',
  globalTeardown: './global-teardown.cjs',
  transform: {},
};
