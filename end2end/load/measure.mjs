// What the load generators share: the server's CPU clock, a cookie-keeping browser and one
// complete sign-in through the simulator.
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU seconds the process has used so far (utime + stime from /proc/PID/stat). */
export function cpuSeconds(pid) {
  // Fields 14 and 15 (utime, stime) follow the ")" that closes the command name.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident memory of the process in MiB (VmRSS from /proc/PID/status). */
export function residentMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
  return kib / 1024;
}

/** The 1, 5 and 15 minute load averages, for the report. */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** A browser: a cookie jar (cookies on 127.0.0.1 are shared across ports) and manual redirects. */
export function browser() {
  const jar = new Map();
  const get = async (url) => {
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
  get.cookie = (name) => jar.get(name);
  return get;
}

/** Follows one sign-in through `instance` to its landing page and returns the browser;
 * `verify` also checks the session (warm-up only, so measured phases hold sign-ins alone). */
export async function signIn(baseUrl, { instance = 'acme-okta', verify = false } = {}) {
  const get = browser();
  let url = `${baseUrl}/sso/${instance}/login`;
  for (let hop = 0; hop < 20; hop += 1) {
    const response = await get(url);
    const location = response.headers.get('location');
    if (!location) throw new Error(`sign-in stopped at ${url} with ${response.status}`);
    const next = new URL(location, url);
    if (next.origin === baseUrl && next.pathname === '/') {
      if (verify) {
        const session = await get(`${baseUrl}/api/session`);
        if (session.status !== 200) throw new Error(`no session after sign-in (${session.status})`);
      }
      return get;
    }
    url = next.href;
  }
  throw new Error('too many redirects');
}

/** Runs `task` `count` times on `concurrency` workers; returns the server's CPU ms per task
 * and tasks per second. */
export async function cpuPerTask(pid, count, concurrency, task) {
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
  return { cpuMsEach: cpuMs / count, perSecond: count / wall };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
