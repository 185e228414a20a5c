#!/usr/bin/env node
// Load generator: the server's own CPU per sign-in, with the IdP's time excluded. The Okta
// simulator runs in another process, so the orgpass process's CPU time (utime + stime from
// /proc/PID/stat) over N sign-ins is exactly what Orgpass spends.
//   node end2end/load/sign_in_cpu.mjs [--sign-ins 400] [--concurrency 8] [--orgpass target/release/orgpass]
// Two phases, so the callback can be told apart from the login start:
//   1. login starts only (GET /sso/{id}/login: flow stored, redirect built);
//   2. complete sign-ins (login start, the simulator's hops, the callback, the session).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startStack } from '../stack.mjs';
import { browser, cpuPerTask, signIn } from './measure.mjs';

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

async function loginStart(baseUrl) {
  const response = await browser()(`${baseUrl}/sso/acme-okta/login`);
  if (response.status !== 302) throw new Error(`login start answered ${response.status}`);
}

async function measure(label, count, task, pid) {
  const { cpuMsEach, perSecond } = await cpuPerTask(pid, count, concurrency, task);
  const result = { phase: label, count, server_cpu_ms_each: +cpuMsEach.toFixed(3), per_second: +perSecond.toFixed(1) };
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
  for (let i = 0; i < 20; i += 1) await signIn(stack.baseUrl, { verify: true });
  const starts = await measure('login start', total, () => loginStart(stack.baseUrl), stack.orgpassPid);
  const full = await measure('complete sign-in', total, () => signIn(stack.baseUrl), stack.orgpassPid);
  const callback = full.server_cpu_ms_each - starts.server_cpu_ms_each;
  console.log(JSON.stringify({ phase: 'callback (difference)', server_cpu_ms_each: +callback.toFixed(3) }));
} finally {
  stack.stop();
}
