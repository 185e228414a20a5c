import { defineConfig } from '@playwright/test';
import { APP_PORT, STACK_LOG, STACK_STATE } from './tests/support.mjs';

// Browser tests run against their own stack (simulator + orgpass on a fresh SQLite database)
// on ports of their own, so they never collide with `make run`.
const port = APP_PORT;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  retries: 0,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          // Debian's Chromium: Playwright's own browser download is not reachable here.
          executablePath: '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: {
    // The state file lets tests run the operator CLI; the log file lets them scan the log.
    command: `node stack.mjs --config tests/simulator.json --listen 127.0.0.1:${port} --fresh \
      --state-file ${STACK_STATE} --log-file ${STACK_LOG}`,
    env: { RUST_LOG: 'debug,sqlx=warn,hyper=info,hyper_util=info,h2=info,rustls=info' },
    url: `http://127.0.0.1:${port}/api/session`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
