#!/usr/bin/env node
// Runs the local stack: the Okta simulator, then `orgpass serve` on SQLite, after registering
// every org and client of the simulator's config that the database does not have yet.
// Orgpass (server and CLI) looks DNS records up at the simulator's DNS server, never the internet.
// A client names its orgpass instance ("instance": "acme-okta"); its Okta-side URIs are
// computed here from --listen, so the config never repeats the app's port. A client with
// neither is an app integration not connected yet; an org with "onboarded": false is left
// for the operator (or a test) to register.
//   node end2end/stack.mjs --config FILE --listen 127.0.0.1:3000 --data-dir data [--fresh]
//     [--state-file FILE] [--log-file FILE]
// --state-file writes what a test needs to run the operator CLI against this stack;
// --log-file sends the server's log there instead of to the console (tests scan it).
// Used by `make run` (demo) and by Playwright's webServer (browser tests). Ctrl-C stops both.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

/**
 * Starts the simulator with `config`, registers its orgs and clients in orgpass's database,
 * starts `orgpass serve` and waits until it answers.
 * Returns `{ baseUrl, orgpassPid, dataDir, firstEmail, issuers: { slug: issuer }, dns, cliEnv, stop }`,
 * `dns` being the simulator's DNS server (`127.0.0.1:PORT`).
 */
export async function startStack({ config: configPath, listen, dataDir, fresh = false, orgpass, logFile }) {
  const baseUrl = `http://${listen}`;
  const config = withAppUris(JSON.parse(readFileSync(configPath, 'utf8')), baseUrl);
  const dir = fresh ? mkdtempSync(join(tmpdir(), 'orgpass-')) : resolve(dataDir);
  const env = {
    ...process.env,
    ORGPASS_DATA_DIR: dir,
    ORGPASS_PUBLIC_URL: baseUrl,
    ORGPASS_LISTEN: listen,
    ORGPASS_INSECURE_DEV_COOKIES: 'true',
    ORGPASS_DEV_LOOPBACK_ISSUERS: 'true',
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    // Set at build time by cargo-leptos; repeated here so a plain `cargo build` binary works too.
    LEPTOS_OUTPUT_NAME: 'orgpass',
  };
  const children = [];
  let stopping = false;
  const stop = (code = 0) => {
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    if (fresh) rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const watch = (name, child) => {
    children.push(child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      console.error(`stack: ${name} exited (${signal ?? code}); stopping`);
      process.exit(stop(code || 1));
    });
  };
  const cli = (cliArgs, extraEnv = {}) =>
    run(orgpass, cliArgs, { env: { ...env, ...extraEnv } }).then(({ stdout }) => stdout);

  try {
    const { orgs: issuers, dns } = await startSimulator(config, watch);
    env.ORGPASS_DNS_SERVER = dns;
    await seed(config, issuers, cli);
    const output = logFile ? openSync(logFile, 'w') : 'inherit';
    const server = spawn(orgpass, ['serve'], { env, stdio: ['ignore', output, output] });
    watch('orgpass', server);
    await waitForServer(baseUrl);
    const cliEnv = { ORGPASS_DATA_DIR: dir, ORGPASS_PUBLIC_URL: baseUrl, ORGPASS_DEV_LOOPBACK_ISSUERS: 'true', ORGPASS_DNS_SERVER: dns };
    return { baseUrl, orgpassPid: server.pid, dataDir: dir, firstEmail: config.orgs[0]?.users[0]?.email, issuers, dns, cliEnv, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/** Starts the simulator on `config` (written to a temporary file it reads once); returns its ready
 * line: `{ orgs: { slug: issuer }, dns: '127.0.0.1:PORT' }`. */
async function startSimulator(config, watch) {
  const configDir = mkdtempSync(join(tmpdir(), 'orgpass-sim-'));
  const configPath = join(configDir, 'simulator.json');
  writeFileSync(configPath, JSON.stringify(config));
  const sim = spawn(
    process.execPath,
    [join(root, 'end2end', 'simulator', 'main.mjs'), '--config', configPath, '--exit-on-stdin-close'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  watch('simulator', sim);
  try {
    const [line] = await Promise.race([
      createInterface({ input: sim.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value]),
      new Promise((_, reject) => setTimeout(() => reject(new Error('simulator did not start in 30 s')), 30_000)),
    ]);
    return JSON.parse(line);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
}

/**
 * `config` with every client's Okta-side URIs set to its orgpass instance's URLs under
 * `baseUrl`: sign-in redirect, initiate login (the Okta tile) and sign-out redirect.
 * URIs the config spells out itself are kept.
 */
export function withAppUris(config, baseUrl) {
  const forClient = (client) => {
    const id = instanceId(client);
    if (id === null) return client;
    return {
      ...client,
      instance: id,
      redirect_uris: client.redirect_uris ?? [`${baseUrl}/sso/${id}/callback`],
      initiate_login_uri: client.initiate_login_uri ?? `${baseUrl}/sso/${id}/initiate`,
      post_logout_redirect_uris: client.post_logout_redirect_uris ?? [`${baseUrl}/signed-out`],
    };
  };
  return { ...config, orgs: config.orgs.map((org) => ({ ...org, clients: org.clients.map(forClient) })) };
}

/// A client's instance id: its "instance", else the segment of its redirect URI
/// /sso/{id}/callback; null for an app not connected yet (it spells out another redirect URI).
function instanceId(client) {
  if (client.instance) return client.instance;
  const uri = client.redirect_uris?.[0];
  if (!uri) throw new Error(`client ${client.client_id}: needs "instance" or "redirect_uris"`);
  return /\/sso\/([^/]+)\/callback$/.exec(uri)?.[1] ?? null;
}

async function seed(config, issuers, cli) {
  const tenants = new Set(JSON.parse(await cli(['tenant', 'list', '--json'])).map((t) => t.slug));
  const instances = new Set(JSON.parse(await cli(['instance', 'list', '--json'])).map((i) => i.id));
  for (const org of config.orgs) {
    if (org.onboarded === false) continue;
    if (!tenants.has(org.slug)) {
      const domains = (org.domains ?? []).flatMap((domain) => ['--domain', domain]);
      await cli(['tenant', 'add', org.slug, '--name', org.display_name ?? org.slug, ...domains]);
      console.error(`stack: registered organization ${org.slug}`);
      // Invited: they become the org's admins at their first sign-in.
      for (const email of org.admins ?? []) {
        await cli(['admin', 'add', org.slug, '--email', email]);
        console.error(`stack: invited ${email} as an admin of ${org.slug}`);
      }
    }
    for (const client of org.clients) {
      const id = client.instance;
      if (!id || instances.has(id)) continue;
      await cli(
        ['instance', 'add', '--id', id, '--tenant', org.slug, '--label', client.label ?? 'Okta',
          '--issuer', issuers[org.slug], '--client-id', client.client_id,
          '--token-auth-method', client.token_endpoint_auth_method ?? 'client_secret_basic'],
        { ORGPASS_CLIENT_SECRET: client.client_secret },
      );
      console.error(`stack: registered instance ${id} of ${org.slug}`);
    }
  }
}

async function waitForServer(baseUrl) {
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

async function main() {
  const { values: args } = parseArgs({
    options: {
      config: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:3000' },
      'data-dir': { type: 'string', default: join(root, 'data') },
      fresh: { type: 'boolean', default: false },
      orgpass: { type: 'string', default: join(root, 'target', 'debug', 'orgpass') },
      'state-file': { type: 'string' },
      'log-file': { type: 'string' },
    },
  });
  if (!args.config) {
    console.error('usage: stack.mjs --config FILE [--listen ADDR] [--data-dir DIR] [--fresh]');
    process.exit(2);
  }
  let stack;
  try {
    stack = await startStack({
      config: args.config,
      listen: args.listen,
      dataDir: args['data-dir'],
      fresh: args.fresh,
      orgpass: args.orgpass,
      logFile: args['log-file'],
    });
  } catch (error) {
    console.error(`stack: ${error.message}`);
    process.exit(1);
  }
  if (args['state-file']) {
    const { baseUrl, issuers, cliEnv } = stack;
    writeFileSync(args['state-file'], JSON.stringify({ baseUrl, issuers, orgpass: resolve(args.orgpass), cliEnv, logFile: args['log-file'] }));
  }
  process.on('SIGINT', () => process.exit(stack.stop()));
  process.on('SIGTERM', () => process.exit(stack.stop()));
  console.log(banner(stack));
}

function banner({ baseUrl, firstEmail, issuers, dns }) {
  const width = Math.max(...Object.keys(issuers).map((slug) => slug.length));
  const dashboards = Object.entries(issuers)
    .map(([slug, issuer]) => `  ${slug.padEnd(width)}  ${issuer}/__sim/dashboard`);
  return [
    '',
    `Orgpass is running. Open ${baseUrl}/ and sign in as ${firstEmail} (Ctrl-C stops).`,
    'Okta dashboards of the simulated orgs (a tile signs in from Okta\'s side):',
    ...dashboards,
    `Domain verification looks TXT records up at the simulator's DNS server ${dns};`,
    `publish one: curl -d '{"name":"_orgpass-challenge.DOMAIN","values":["..."]}' ${Object.values(issuers)[0]}/__sim/dns/txt`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
