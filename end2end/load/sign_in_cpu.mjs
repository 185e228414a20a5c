#!/usr/bin/env node
// Load generator: the server's own CPU per sign-in, with the IdP's time excluded. The Okta
// simulator runs in another process, so the orgpass process's CPU time (utime + stime from
// /proc/PID/stat) over N sign-ins is exactly what Orgpass spends.
//   node end2end/load/sign_in_cpu.mjs [--sign-ins 400] [--concurrency 8] [--orgpass target/release/orgpass]
// Two phases, so the callback can be told apart from the login start:
//   1. login starts only (GET /sso/{id}/login: flow stored, redirect built);
//   2. complete sign-ins (login start, the simulator's hops, the callback, the session).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startStack } from '../stack.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { values: args } = parseArgs({
  options: {
    'sign-ins': { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
    orgpass: { type: 'string', default: join(root, 'target', 'release', 'orgpass') },
  },
});
const total = Number(args['sign-ins']);
const concurrency = Number(args.concurrency);
const ticksPerSecond = 100; // USER_HZ on Linux

function cpuSeconds(pid) {
  // Fields 14 and 15 (utime, stime) follow the ")" that closes the command name.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** A browser: a cookie jar (cookies on 127.0.0.1 are shared across ports) and manual redirects. */
function browser() {
  const jar = new Map();
  return async function get(url) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    await response.arrayBuffer();
    return response;
  };
}

/** Follows one sign-in to its landing page; `verify` also checks the session (warm-up only, so
 * the measured phase holds sign-ins and nothing else). */
async function signIn(baseUrl, verify = false) {
  const get = browser();
  let url = `${baseUrl}/sso/acme-okta/login`;
  for (let hop = 0; hop < 20; hop += 1) {
    const response = await get(url);
    const location = response.headers.get('location');
    if (!location) throw new Error(`sign-in stopped at ${url} with ${response.status}`);
    const next = new URL(location, url);
    if (next.origin === baseUrl && next.pathname === '/') {
      if (!verify) return;
      const session = await get(`${baseUrl}/api/session`);
      if (session.status !== 200) throw new Error(`no session after sign-in (${session.status})`);
      return;
    }
    url = next.href;
  }
  throw new Error('too many redirects');
}

async function loginStart(baseUrl) {
  const response = await browser()(`${baseUrl}/sso/acme-okta/login`);
  if (response.status !== 302) throw new Error(`login start answered ${response.status}`);
}

async function measure(label, count, task, pid) {
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = (performance.now() - started) / 1000;
  const cpuMs = (cpuSeconds(pid) - cpuBefore) * 1000;
  const result = { phase: label, count, server_cpu_ms_each: +(cpuMs / count).toFixed(3), per_second: +(count / wall).toFixed(1) };
  console.log(JSON.stringify(result));
  return result;
}

const stack = await startStack({
  config: join(here, 'simulator.json'),
  listen: '127.0.0.1:3200',
  fresh: true,
  orgpass: resolve(args.orgpass),
});
try {
  // Warm-up: discovery, keys and connection pools, so the figures are steady-state.
  for (let i = 0; i < 20; i += 1) await signIn(stack.baseUrl, true);
  const starts = await measure('login start', total, () => loginStart(stack.baseUrl), stack.orgpassPid);
  const full = await measure('complete sign-in', total, () => signIn(stack.baseUrl), stack.orgpassPid);
  const callback = full.server_cpu_ms_each - starts.server_cpu_ms_each;
  console.log(JSON.stringify({ phase: 'callback (difference)', server_cpu_ms_each: +callback.toFixed(3) }));
} finally {
  stack.stop();
}
