import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts', 'test-support/**/*.test.ts'],
    // Adds kernel rules: only ever run in the network namespace scripts/test-egress.sh makes (vitest.egress.config.ts).
    exclude: [...configDefaults.exclude, '__tests__/e2e/egress.test.ts', '__tests__/e2e/egress-attacks.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['test-support/global-setup.ts'],
    // CI counts passes and failures from a JSON report per suite (this one, and the egress suite's).
    ...(process.env.TEST_REPORT_DIR ? { reporters: ['default', 'json'], outputFile: { json: `${process.env.TEST_REPORT_DIR}/main.json` } } : {})
  }
})
