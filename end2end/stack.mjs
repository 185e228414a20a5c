#!/usr/bin/env node
// Runs the local stack: the Okta simulator, then `orgpass serve` on SQLite, after registering
// every org and client of the simulator's config that the database does not have yet.
//   node end2end/stack.mjs --config FILE --listen 127.0.0.1:3000 --data-dir data [--fresh]
// Used by `make run` (demo) and by Playwright's webServer (browser tests). Ctrl-C stops both.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:3000' },
    'data-dir': { type: 'string', default: join(root, 'data') },
    fresh: { type: 'boolean', default: false },
    orgpass: { type: 'string', default: join(root, 'target', 'debug', 'orgpass') },
  },
});
if (!args.config) {
  console.error('usage: stack.mjs --config FILE [--listen ADDR] [--data-dir DIR] [--fresh]');
  process.exit(2);
}

const config = JSON.parse(readFileSync(args.config, 'utf8'));
const dataDir = args.fresh ? mkdtempSync(join(tmpdir(), 'orgpass-')) : resolve(args['data-dir']);
const baseUrl = `http://${args.listen}`;
const env = {
  ...process.env,
  ORGPASS_DATA_DIR: dataDir,
  ORGPASS_PUBLIC_URL: baseUrl,
  ORGPASS_LISTEN: args.listen,
  ORGPASS_INSECURE_DEV_COOKIES: 'true',
  ORGPASS_DEV_LOOPBACK_ISSUERS: 'true',
  LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
};
const children = [];

function stop(code) {
  for (const child of children) child.kill('SIGTERM');
  if (args.fresh) rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function watch(name, child) {
  children.push(child);
  child.on('exit', (code, signal) => {
    console.error(`stack: ${name} exited (${signal ?? code}); stopping`);
    stop(code || 1);
  });
}

async function startSimulator() {
  const sim = spawn(
    process.execPath,
    [join(root, 'end2end', 'simulator', 'main.mjs'), '--config', args.config, '--exit-on-stdin-close'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  watch('simulator', sim);
  const [line] = await Promise.race([
    createInterface({ input: sim.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value]),
    new Promise((_, reject) => setTimeout(() => reject(new Error('simulator did not start in 30 s')), 30_000)),
  ]);
  return JSON.parse(line).orgs;
}

const run = promisify(execFile);
const orgpass = (cliArgs, extraEnv = {}) =>
  run(args.orgpass, cliArgs, { env: { ...env, ...extraEnv } }).then(({ stdout }) => stdout);

/// The instance id is the path segment in the client's redirect URI: /sso/{id}/callback.
function instanceId(client) {
  const match = /\/sso\/([^/]+)\/callback$/.exec(client.redirect_uris[0] ?? '');
  if (!match) throw new Error(`client ${client.client_id}: redirect URI is not /sso/{id}/callback`);
  return match[1];
}

async function seed(issuers) {
  const tenants = new Set(JSON.parse(await orgpass(['tenant', 'list', '--json'])).map((t) => t.slug));
  const instances = new Set(JSON.parse(await orgpass(['instance', 'list', '--json'])).map((i) => i.id));
  for (const org of config.orgs) {
    if (!tenants.has(org.slug)) {
      await orgpass(['tenant', 'add', org.slug, '--name', org.display_name ?? org.slug]);
      console.error(`stack: registered organization ${org.slug}`);
    }
    for (const client of org.clients) {
      const id = instanceId(client);
      if (instances.has(id)) continue;
      await orgpass(
        ['instance', 'add', '--id', id, '--tenant', org.slug, '--label', client.label ?? 'Okta',
          '--issuer', issuers[org.slug], '--client-id', client.client_id],
        { ORGPASS_CLIENT_SECRET: client.client_secret },
      );
      console.error(`stack: registered instance ${id} of ${org.slug}`);
    }
  }
}

async function waitForServer() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/api/session`);
      if (response.status === 401 || response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`orgpass did not answer on ${baseUrl} within 60 s`);
}

try {
  const issuers = await startSimulator();
  await seed(issuers);
  watch('orgpass', spawn(args.orgpass, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] }));
  await waitForServer();
  const firstOrg = config.orgs[0]?.slug;
  console.log(`\nOrgpass is running. Open ${baseUrl}/o/${firstOrg} and sign in (Ctrl-C stops).\n`);
} catch (error) {
  console.error(`stack: ${error.message}`);
  stop(1);
}
