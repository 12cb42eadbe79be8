import { defineConfig } from 'vitest/config'

// The egress end-to-end tests add iptables rules, so they run only inside the network and mount
// namespaces that scripts/test-egress.sh makes (npm run test:egress, part of npm test).
export default defineConfig({
  test: {
    include: ['__tests__/e2e/egress.test.ts', '__tests__/e2e/egress-attacks.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['test-support/global-setup.ts'],
    ...(process.env.TEST_REPORT_DIR ? { reporters: ['default', 'json'], outputFile: { json: `${process.env.TEST_REPORT_DIR}/egress.json` } } : {})
  }
})
