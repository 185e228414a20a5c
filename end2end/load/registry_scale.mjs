#!/usr/bin/env node
// Load generator: does Orgpass stay as fast with 100,000 registered instances as with 10? For
// each registry size N it imports N instances into a fresh SQLite database
// (`orgpass instance import FILE --json`, timed), starts `orgpass serve` (start-up timed: spawn
// to the first HTTP answer), then times login starts (GET /sso/{random id}/login → 302) and
// reads the server's resident memory.
//   node end2end/load/registry_scale.mjs [--instances 10,100000] [--requests 4000]
//        [--concurrency 16] [--orgpass target/release/orgpass]
// One Okta simulator serves every generated instance: login start needs the issuer's discovery
// document (fetched once, then cached) and contacts the IdP no further, so N fake clients of one
// issuer exercise the registry exactly as N orgs would. Talks to 127.0.0.1 only.
// Prints one JSON line per size, then markdown tables, the p50 ratio largest/smallest size (goal
// ≤ 1.2), the slowest start-up (goal < 1 s) and the IdP requests counted during start-ups (the
// simulator's /__sim/stats; expected 0). A size listed twice is measured twice (interleave them,
// e.g. 10,100000,10,100000, against drifting machine load). See BENCHMARKS.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '10,100000' },
    requests: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '16' },
    orgpass: { type: 'string', default: join(root, 'target', 'release', 'orgpass') },
  },
});
const sizes = args.instances.split(',').map((s) => Number(s.trim()));
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const orgpass = resolve(args.orgpass);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(requests > 0) || !(concurrency > 0)) {
  console.error('usage: registry_scale.mjs [--instances 10,100000] [--requests 4000] [--concurrency 16] [--orgpass PATH]');
  process.exit(2);
}
const ticksPerSecond = 100; // USER_HZ on Linux
const STARTUP_POLL_MS = 5;
const STARTUP_LIMIT_MS = 120_000;

// ---------------------------------------------------------------- child processes and cleanup

const children = new Set();
const tempDirs = new Set();
let stopping = false;

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('SIGINT', () => {
  console.error('registry_scale: interrupted, cleaning up');
  cleanup();
  process.exit(130);
});
process.on('SIGTERM', () => {
  cleanup();
  process.exit(143);
});
process.on('exit', cleanup);

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
async function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- the simulator

/** Starts the simulator as stack.mjs does; returns the first org's issuer. */
async function startSimulator() {
  const sim = track(spawn(
    process.execPath,
    [join(root, 'end2end', 'simulator', 'main.mjs'), '--config', join(here, 'simulator.json'),
      '--exit-on-stdin-close'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  ));
  sim.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`registry_scale: the simulator exited (${signal ?? code})`);
      cleanup();
      process.exit(1);
    }
  });
  const [line] = await Promise.race([
    createInterface({ input: sim.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value]),
    new Promise((_, reject) => setTimeout(() => reject(new Error('simulator did not start in 30 s')), 30_000)),
  ]);
  if (!line) throw new Error('the simulator exited before it was ready (is `npm ci` done in end2end/?)');
  const { orgs } = JSON.parse(line);
  return Object.values(orgs)[0];
}

/** Every request the simulator counted (discovery, authorize, token, keys, userinfo, logout). */
async function idpStats(issuer) {
  const response = await fetch(new URL('/__sim/stats', issuer));
  if (!response.ok) throw new Error(`simulator stats answered ${response.status}`);
  const stats = await response.json();
  return { ...stats, total: Object.values(stats).reduce((a, b) => a + b, 0) };
}

// ---------------------------------------------------------------- helpers

const pad = (i) => String(i).padStart(6, '0');
const instanceId = (i) => `inst-${pad(i)}`;

function importRows(n, issuer) {
  const rows = new Array(n);
  for (let i = 0; i < n; i += 1) {
    rows[i] = {
      tenant: `org-${pad(i)}`,
      tenant_name: `Org ${pad(i)}`,
      domains: `org-${pad(i)}.example.com`,
      id: instanceId(i),
      label: 'Okta',
      issuer,
      client_id: `0oa-bench-${pad(i)}`,
      client_secret: randomBytes(30).toString('base64url'), // 40 characters
      token_auth_method: 'client_secret_basic',
    };
  }
  return rows;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** VmRSS and VmHWM of a live process, in MiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: +(kb('VmRSS') / 1024).toFixed(1), hwm_mib: +(kb('VmHWM') / 1024).toFixed(1) };
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Runs `orgpass ARGS` to completion; returns stdout, the wall time and the peak RSS seen. */
function runCli(cliArgs, env) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = track(spawn(orgpass, cliArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    let peakKib = 0;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    // VmHWM cannot be read after exit: sample it while the command runs.
    const sampler = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKib = Math.max(peakKib, Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0));
      } catch {
        // exited between two samples
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      const ms = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`orgpass ${cliArgs.join(' ')} exited ${signal ?? code} after ${(ms / 1000).toFixed(1)} s: ${stderr.trim().slice(0, 2000)}`));
      } else {
        // null: the command ended before the first sample.
        resolvePromise({ stdout, ms, peak_mib: peakKib ? +(peakKib / 1024).toFixed(1) : null });
      }
    });
  });
}

/** One GET; resolves with the status, the Location header and the wall time in ms. */
function get(url, agent) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const request = http.get(url, { agent }, (response) => {
      response.resume();
      response.on('end', () => resolvePromise({
        status: response.statusCode,
        location: response.headers.location,
        ms: performance.now() - started,
      }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(30_000, () => request.destroy(new Error(`no answer from ${url} in 30 s`)));
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

// ---------------------------------------------------------------- one registry size

async function measureSize(n, issuer) {
  const dir = mkdtempSync(join(tmpdir(), 'orgpass-scale-'));
  tempDirs.add(dir);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    ORGPASS_DATA_DIR: dir,
    ORGPASS_LISTEN: `127.0.0.1:${port}`,
    ORGPASS_PUBLIC_URL: baseUrl,
    ORGPASS_INSECURE_DEV_COOKIES: 'true',
    ORGPASS_DEV_LOOPBACK_ISSUERS: 'true',
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    LEPTOS_OUTPUT_NAME: 'orgpass',
  };
  const result = { instances: n };
  let server;
  try {
    // 1. Import (the file is written before the clock starts).
    const file = join(dir, 'instances.json');
    writeFileSync(file, JSON.stringify(importRows(n, issuer)));
    result.import_file_mib = +(statSync(file).size / 2 ** 20).toFixed(1);
    const imported = await runCli(['instance', 'import', file, '--json'], env);
    const count = JSON.parse(imported.stdout).imported;
    if (count !== n) throw new Error(`import reported ${count} instances, expected ${n}`);
    result.import_s = +(imported.ms / 1000).toFixed(2);
    result.import_peak_rss_mib = imported.peak_mib;
    // The write-ahead log the import left behind, if any: `serve` reads it at start-up.
    const size = (f) => { try { return statSync(join(dir, f)).size; } catch { return 0; } };
    result.db_mib = +(size('orgpass.db') / 2 ** 20).toFixed(1);
    result.wal_left_mib = +(size('orgpass.db-wal') / 2 ** 20).toFixed(1);

    // 2. Start-up: spawn → first HTTP answer on /api/session, polled every 5 ms.
    const idpBefore = await idpStats(issuer);
    const started = performance.now();
    server = track(spawn(orgpass, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] }));
    let serverLog = '';
    server.stderr.on('data', (d) => { serverLog = (serverLog + d).slice(-4000); });
    let startupStatus;
    while (startupStatus === undefined) {
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new Error(`orgpass serve exited (${server.signalCode ?? server.exitCode}) during start-up: ${serverLog.trim()}`);
      }
      if (performance.now() - started > STARTUP_LIMIT_MS) throw new Error(`orgpass serve did not answer within ${STARTUP_LIMIT_MS / 1000} s`);
      try {
        startupStatus = (await get(`${baseUrl}/api/session`, false)).status;
      } catch {
        await new Promise((r) => setTimeout(r, STARTUP_POLL_MS));
      }
    }
    result.startup_ms = +(performance.now() - started).toFixed(1);
    if (startupStatus !== 401) throw new Error(`GET /api/session answered ${startupStatus}, expected 401`);
    result.idp_requests_during_startup = (await idpStats(issuer)).total - idpBefore.total;
    result.memory_after_start = memory(server.pid);

    // 3. Warm-up: one login start fetches and caches the issuer's discovery document.
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const warm = await get(`${baseUrl}/sso/${instanceId(n - 1)}/login`, agent);
    if (warm.status !== 302) throw new Error(`warm-up login start answered ${warm.status}`);
    const authorizeEndpoint = new URL(warm.location);
    authorizeEndpoint.search = '';
    const idpAfterWarmUp = await idpStats(issuer);

    // 4. Login starts for random existing instances at the given concurrency.
    const latencies = new Float64Array(requests);
    let issued = 0;
    let failures = 0;
    let firstFailure;
    const cpuBefore = cpuSeconds(server.pid);
    const loadStarted = performance.now();
    const worker = async () => {
      while (issued < requests) {
        const slot = issued;
        issued += 1;
        const id = instanceId(Math.floor(Math.random() * n));
        try {
          const r = await get(`${baseUrl}/sso/${id}/login`, agent);
          latencies[slot] = r.ms;
          if (r.status !== 302 || !r.location?.startsWith(authorizeEndpoint.href)) {
            failures += 1;
            firstFailure ??= `${id}: ${r.status} ${r.location ?? ''}`;
          }
        } catch (error) {
          latencies[slot] = NaN;
          failures += 1;
          firstFailure ??= `${id}: ${error.message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallS = (performance.now() - loadStarted) / 1000;
    const cpuMs = (cpuSeconds(server.pid) - cpuBefore) * 1000;
    agent.destroy();
    const sorted = [...latencies].filter(Number.isFinite).sort((a, b) => a - b);
    const ms = (x) => +x.toFixed(2);
    Object.assign(result, {
      requests,
      concurrency,
      failures,
      p50_ms: ms(quantile(sorted, 0.5)),
      p90_ms: ms(quantile(sorted, 0.9)),
      p99_ms: ms(quantile(sorted, 0.99)),
      max_ms: ms(sorted[sorted.length - 1]),
      mean_ms: ms(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      req_per_s: +(requests / wallS).toFixed(0),
      server_cpu_ms_per_req: +(cpuMs / requests).toFixed(3),
      idp_requests_during_load: (await idpStats(issuer)).total - idpAfterWarmUp.total,
      memory_after_load: memory(server.pid),
    });
    if (failures > 0) result.first_failure = firstFailure;
    return result;
  } finally {
    if (server) await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

// ---------------------------------------------------------------- main

function report(results) {
  const mib = (m) => `${m.rss_mib} MiB (peak ${m.hwm_mib})`;
  const lines = [
    '',
    `${requests} login starts per size at concurrency ${concurrency}; latencies are per-request wall time in ms.`,
    '',
    '| instances | import time | start-up | p50 | p99 | req/s | RSS after start | RSS after load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.instances.toLocaleString('en-US')} | ${r.import_s} s | ${r.startup_ms} ms | ${r.p50_ms} | ${r.p99_ms} | ${r.req_per_s} | ${mib(r.memory_after_start)} | ${mib(r.memory_after_load)} |`),
    '',
    '| instances | p90 | mean | max | server CPU ms/req | import peak RSS | DB file | WAL left by import | IdP requests during start-up | during load | failures |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.instances.toLocaleString('en-US')} | ${r.p90_ms} | ${r.mean_ms} | ${r.max_ms} | ${r.server_cpu_ms_per_req} | ${r.import_peak_rss_mib ?? '–'} MiB | ${r.db_mib} MiB | ${r.wal_left_mib} MiB | ${r.idp_requests_during_startup} | ${r.idp_requests_during_load} | ${r.failures} |`),
    '',
  ];
  // A size listed more than once (e.g. --instances 10,100000,10,100000, interleaved against
  // drifting machine load) counts with the median of its p50s.
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const distinct = [...new Set(results.map((r) => r.instances))].sort((a, b) => a - b);
  if (distinct.length > 1) {
    const p50Of = (n) => median(results.filter((r) => r.instances === n).map((r) => r.p50_ms));
    const [small, large] = [distinct[0], distinct[distinct.length - 1]];
    const ratio = p50Of(large) / p50Of(small);
    lines.push(`p50 ratio ${large}/${small}: ${ratio.toFixed(2)} (goal ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'NOT met'})`);
  }
  const slowest = Math.max(...results.map((r) => r.startup_ms));
  lines.push(`start-up, slowest: ${slowest} ms (goal < 1 s: ${slowest < 1000 ? 'met' : 'NOT met'})`);
  const idp = results.reduce((a, r) => a + r.idp_requests_during_startup, 0);
  lines.push(`IdP requests during start-up: ${idp}`);
  console.log(lines.join('\n'));
}

let exitCode = 0;
try {
  const issuer = await startSimulator();
  console.error(`registry_scale: simulator issuer ${issuer}; orgpass ${orgpass}`);
  const results = [];
  for (const n of sizes) {
    console.error(`registry_scale: ${n} instances…`);
    const result = await measureSize(n, issuer);
    console.log(JSON.stringify(result));
    if (result.failures > 0) exitCode = 1;
    results.push(result);
  }
  report(results);
} catch (error) {
  console.error(`registry_scale: ${error.message}`);
  exitCode = 1;
} finally {
  stopping = true;
  cleanup();
}
process.exit(exitCode);
