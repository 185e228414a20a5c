#!/usr/bin/env node
// Regression benchmark for per-request latency: a static file, the server-rendered start page
// and a server function, each at concurrency 1 and 32 on keep-alive connections, against an
// `orgpass serve` of its own (fresh SQLite data directory, no IdP needed).
//   node end2end/load/latency.mjs [--requests 400] [--listen 127.0.0.1:3400] [--orgpass target/release/orgpass]
// A p50 near 40 ms at concurrency 1 is the signature of Nagle's algorithm meeting the client's
// delayed ACK (a response written in two parts): accepted sockets must have TCP_NODELAY.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    listen: { type: 'string', default: '127.0.0.1:3400' },
    orgpass: { type: 'string', default: join(root, 'target', 'release', 'orgpass') },
  },
});
const requests = Number(args.requests);
const base = `http://${args.listen}`;

const TARGETS = [
  { name: 'static file /favicon.ico', method: 'GET', path: '/favicon.ico' },
  { name: 'page /', method: 'GET', path: '/' },
  {
    name: 'server fn current_user',
    method: 'POST',
    path: '/api/current_user',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
  },
];

function once(agent, target) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const request = http.request(`${base}${target.path}`, { method: target.method, agent, headers: target.headers }, (response) => {
      response.resume();
      response.on('end', () => {
        if (response.statusCode >= 400) fail(new Error(`${target.path}: HTTP ${response.statusCode}`));
        else done(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    request.on('error', fail);
    request.end();
  });
}

async function measure(target, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next += 1;
      latencies.push(await once(agent, target));
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))];
  return { p50: at(0.5), p99: at(0.99), perSecond: requests / seconds };
}

async function waitForServer() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`${base}/api/session`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`orgpass did not answer on ${base}`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'orgpass-latency-'));
const server = spawn(args.orgpass, ['serve'], {
  env: {
    ...process.env,
    ORGPASS_DATA_DIR: dataDir,
    ORGPASS_LISTEN: args.listen,
    ORGPASS_INSECURE_DEV_COOKIES: 'true',
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    LEPTOS_OUTPUT_NAME: 'orgpass',
    RUST_LOG: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  await waitForServer();
  console.log(`${requests} requests per row, keep-alive, ${base}`);
  console.log('target                       conc   p50 ms   p99 ms    req/s');
  for (const target of TARGETS) {
    await measure(target, 1); // warm-up
    for (const concurrency of [1, 32]) {
      const { p50, p99, perSecond } = await measure(target, concurrency);
      console.log(`${target.name.padEnd(28)} ${String(concurrency).padStart(4)} ${p50.toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)} ${perSecond.toFixed(0).padStart(8)}`);
    }
  }
} finally {
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
