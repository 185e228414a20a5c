#!/usr/bin/env node
// Memory of the session cache: the resident size of a release `orgpass` before and after
// 100,000 live sessions were each checked once (`GET /api/session`), for each cache capacity.
//   node end2end/load/session_memory.mjs [--sessions 100000] [--capacities 100000,10000]
//     [--orgpass target/release/orgpass]
// The sessions are written straight into the SQLite file (python3's sqlite3 module), as
// sign-ins would have left them: 100,000 real sign-ins through the simulator take minutes.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startStack } from '../stack.mjs';
import { loadAverage, residentMiB, signIn } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    capacities: { type: 'string', default: '100000,10000' },
    orgpass: { type: 'string', default: join(root, 'target', 'release', 'orgpass') },
  },
});

// Tokens as the server makes them (URL-safe base64 of random bytes); stored as the server
// stores them (URL-safe base64 of their SHA-256, unpadded), for the user of one real sign-in.
const INSERT_SESSIONS = `
import base64, hashlib, secrets, sqlite3, sys, time
db, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(db, timeout=30)
user_id = conn.execute("SELECT id FROM users LIMIT 1").fetchone()[0]
now = int(time.time())
tokens = [secrets.token_urlsafe(32) for _ in range(count)]
digest = lambda t: base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode()
with conn:
    conn.executemany(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, id_token) VALUES (?, ?, ?, ?, ?, NULL)",
        ((digest(t), user_id, now, now + 86400, now) for t in tokens))
open(out, "w").write("\\n".join(tokens))
`;

async function checkEach(baseUrl, tokens) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next];
      next += 1;
      const status = await new Promise((done, fail) => {
        http
          .get(`${baseUrl}/api/session`, { agent, headers: { cookie: `orgpass_session=${token}` } }, (response) => {
            response.resume();
            response.on('end', () => done(response.statusCode));
          })
          .on('error', fail);
      });
      if (status !== 200) throw new Error(`a stored session answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  agent.destroy();
}

console.log(`load average: ${loadAverage()}`);
console.log('| cache capacity | RSS before (MiB) | RSS after checking all (MiB) | difference (MiB) |');
console.log('|---:|---:|---:|---:|');
for (const capacity of args.capacities.split(',').map(Number)) {
  process.env.ORGPASS_SESSION_CACHE_ENTRIES = String(capacity);
  const stack = await startStack({ config: join(here, 'simulator.json'), listen: '127.0.0.1:3301', fresh: true, orgpass: resolve(args.orgpass) });
  const tokensFile = join(tmpdir(), `orgpass-tokens-${process.pid}`);
  try {
    await signIn(stack.baseUrl, { verify: true });
    const inserted = spawnSync('python3', ['-c', INSERT_SESSIONS, join(stack.dataDir, 'orgpass.db'), args.sessions, tokensFile], { encoding: 'utf8' });
    if (inserted.status !== 0) throw new Error(`inserting sessions failed: ${inserted.stderr}`);
    const tokens = readFileSync(tokensFile, 'utf8').split('\n');
    const before = residentMiB(stack.orgpassPid);
    await checkEach(stack.baseUrl, tokens);
    const after = residentMiB(stack.orgpassPid);
    console.log(`| ${capacity} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(after - before).toFixed(1)} |`);
  } finally {
    stack.stop();
    rmSync(tokensFile, { force: true });
  }
}
