#!/usr/bin/env node
// One run, side by side, against a release `orgpass` and the Okta simulator (fresh SQLite):
// the no-cookie `/api/session` floor, `/api/session` with a live session, a server function, the
// start page, a static file, and complete sign-ins. For each: requests per second, p50 and p99
// (from wrk), and the server's own CPU per request (utime + stime of the orgpass process from
// /proc/PID/stat; wrk and the simulator are other processes). Several rounds; medians reported.
//   node end2end/load/side_by_side.mjs [--rounds 5] [--seconds 5] [--connections 32]
//     [--sign-ins 300] [--orgpass target/release/orgpass] [--listen 127.0.0.1:3300]
// Needs wrk (Debian: apt-get install wrk) and a built site in target/site (cargo leptos build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startStack } from '../stack.mjs';
import { cpuPerTask, cpuSeconds, loadAverage, median, signIn } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    'sign-ins': { type: 'string', default: '300' },
    orgpass: { type: 'string', default: join(root, 'target', 'release', 'orgpass') },
    listen: { type: 'string', default: '127.0.0.1:3300' },
  },
});
const rounds = Number(args.rounds);
const connections = Number(args.connections);

if (spawnSync('wrk', ['--version']).error) {
  console.error('wrk is not installed: apt-get install wrk');
  process.exit(2);
}

const scripts = mkdtempSync(join(tmpdir(), 'orgpass-wrk-'));
/** A wrk Lua script sending `method` with `headers` (wrk has no flag for the method). */
function wrkScript(name, method, headers) {
  const lines = [`wrk.method = "${method}"`, 'wrk.body = ""'];
  for (const [header, value] of Object.entries(headers)) lines.push(`wrk.headers["${header}"] = "${value}"`);
  const path = join(scripts, `${name}.lua`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const toMs = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];

/** Runs wrk once and returns its figures and the server's CPU per request. */
function wrk(pid, url, script, concurrency, expectStatus) {
  const before = cpuSeconds(pid);
  const threads = Math.min(2, concurrency);
  const run = spawnSync('wrk', ['--latency', `-t${threads}`, `-c${concurrency}`, `-d${args.seconds}s`, '-s', script, url], {
    encoding: 'utf8',
  });
  const cpu = cpuSeconds(pid) - before;
  const out = run.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!requests) throw new Error(`wrk failed: ${run.stderr}${out}`);
  const unexpected = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if ((expectStatus < 400) !== (unexpected === 0)) throw new Error(`${url}: ${unexpected} of ${requests} answers were not ${expectStatus}`);
  const latency = (quantile) => {
    const [, value, unit] = new RegExp(`\\s${quantile}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return toMs(value, unit);
  };
  return {
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
    p50: latency(50),
    p99: latency(99),
    cpuUs: (cpu * 1e6) / requests,
  };
}

const stack = await startStack({
  config: join(here, 'simulator.json'),
  listen: args.listen,
  fresh: true,
  orgpass: resolve(args.orgpass),
});
const results = new Map();
const record = (name, figures) => results.set(name, [...(results.get(name) ?? []), figures]);
try {
  const pid = stack.orgpassPid;
  for (let i = 0; i < 20; i += 1) await signIn(stack.baseUrl, { verify: true });
  const session = (await signIn(stack.baseUrl, { verify: true })).cookie('orgpass_session');
  const cookie = `orgpass_session=${session}`;
  const rows = [
    { name: '/api/session, no cookie (floor)', path: '/api/session', script: wrkScript('floor', 'GET', {}), status: 401 },
    { name: '/api/session, live session', path: '/api/session', script: wrkScript('session', 'GET', { cookie }), status: 200 },
    {
      name: 'server fn current_user, signed in',
      path: '/api/current_user',
      script: wrkScript('server-fn', 'POST', { cookie, origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' }),
      status: 200,
    },
    { name: 'page /, signed in', path: '/', script: wrkScript('page', 'GET', { cookie }), status: 200 },
    { name: 'static /pkg/orgpass.css', path: '/pkg/orgpass.css', script: wrkScript('static', 'GET', {}), status: 200 },
  ];
  console.log(`load average before: ${loadAverage()}`);
  for (let round = 1; round <= rounds; round += 1) {
    for (const row of rows) {
      for (const concurrency of [1, connections]) {
        record(`${row.name} @${concurrency}`, wrk(pid, `${stack.baseUrl}${row.path}`, row.script, concurrency, row.status));
      }
    }
    const signIns = await cpuPerTask(pid, Number(args['sign-ins']), 8, () => signIn(stack.baseUrl));
    record('complete sign-in @8', { perSecond: signIns.perSecond, cpuUs: signIns.cpuMsEach * 1000 });
    console.log(`round ${round}/${rounds} done, load average ${loadAverage()}`);
  }
  const fixed = (value, digits) => (value === undefined ? '' : value.toFixed(digits));
  console.log(`\nmedians of ${rounds} rounds, ${args.seconds} s per wrk run`);
  console.log('| what | conc | req/s | p50 ms | p99 ms | server CPU µs/req |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [key, runs] of results) {
    const [name, concurrency] = key.split(' @');
    const m = (field) => (runs[0][field] === undefined ? undefined : median(runs.map((run) => run[field])));
    console.log(`| ${name} | ${concurrency} | ${fixed(m('perSecond'), 0)} | ${fixed(m('p50'), 2)} | ${fixed(m('p99'), 2)} | ${fixed(m('cpuUs'), 1)} |`);
  }
  const floor = median(results.get(`${rows[0].name} @${connections}`).map((run) => run.perSecond));
  const live = median(results.get(`${rows[1].name} @${connections}`).map((run) => run.perSecond));
  console.log(`\nlive session / floor at ${connections} connections: ${(live / floor).toFixed(2)}`);
  console.log(`load average after: ${loadAverage()}`);
} finally {
  stack.stop();
  rmSync(scripts, { recursive: true, force: true });
}
