// Runs the simulator as a child process and drives it over HTTP the way a
// relying party would: fetch with manual redirects and a tiny cookie jar.
//   cd end2end && node --test simulator/
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

const MAIN = new URL('./main.mjs', import.meta.url).pathname;
const REDIRECT = 'http://127.0.0.1:9/cb';

const CONFIG = {
  orgs: [
    {
      slug: 'acme',
      port: 0,
      jwks_max_age: 123,
      users: [
        { sub: '00u1ada', email: 'ada@acme.example', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', preferred_username: 'ada@acme.example', locale: 'en-US', zoneinfo: 'Europe/London' },
        { sub: '00u1grace', email: 'grace@acme.example', name: 'Grace Hopper', given_name: 'Grace', family_name: 'Hopper', preferred_username: 'ghopper', locale: 'en-US', zoneinfo: 'America/New_York' },
      ],
      clients: [
        { client_id: 'basic-client', client_secret: 'basic-secret-0123456789abcdef', redirect_uris: [REDIRECT], post_logout_redirect_uris: ['http://127.0.0.1:9/bye'] },
        { client_id: 'post-client', client_secret: 'post-secret-0123456789abcdef', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post' },
      ],
    },
    {
      slug: 'globex',
      port: 0,
      users: [{ sub: '00u1hank', email: 'hank@globex.example', name: 'Hank Scorpio', preferred_username: 'hank@globex.example' }],
      clients: [{ client_id: 'globex-client', client_secret: 'globex-secret-0123456789abcdef', redirect_uris: [REDIRECT] }],
    },
  ],
};
const [ACME_BASIC, ACME_POST] = CONFIG.orgs[0].clients;

/** Cookies by name; good enough for one host where paths never collide by name. */
class CookieJar {
  cookies = new Map();

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const expired = attrs.some((a) => /^\s*expires=.*1970/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(name.length + 1));
    }
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function get(url, jar) {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.store(res);
  return res;
}

/** The action and fields of an HTML page's first form. */
function parseForm(html) {
  const action = html.match(/<form[^>]*action="([^"]+)"/)[1];
  const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => [k, v]);
  return { action, fields: new URLSearchParams(fields) };
}

/**
 * Acts like a browser until it is sent to a URL starting with `stopAt`:
 * follows redirects and submits the auto-posting forms oidc-provider renders
 * (the logout page, and the logout it inserts when the user switches account).
 */
async function browse(url, jar, stopAt) {
  for (let hops = 0; hops < 10; hops += 1) {
    const res = await get(url, jar);
    if (res.status === 200) {
      const { action, fields } = parseForm(await res.text());
      const submitted = await fetch(action, {
        method: 'POST', redirect: 'manual', body: fields,
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      });
      jar.store(submitted);
      url = new URL(submitted.headers.get('location'), action).href;
    } else {
      assert.ok([302, 303].includes(res.status), `unexpected ${res.status} from ${url}: ${await res.text()}`);
      url = new URL(res.headers.get('location'), url).href;
    }
    if (url.startsWith(stopAt)) return new URL(url);
  }
  throw new Error('too many redirects');
}

/** Runs /authorize through the automatic interactions; returns the callback's query params. */
async function authorize(issuer, client, { jar = new CookieJar(), loginHint, extra } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const request = {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid profile email',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(loginHint && { login_hint: loginHint }),
    ...extra,
  };
  const callback = await browse(`${issuer}/oauth2/v1/authorize?${new URLSearchParams(request)}`, jar, REDIRECT);
  const params = Object.fromEntries(callback.searchParams);
  assert.equal(params.state, request.state);
  return { params, verifier, nonce: request.nonce, jar };
}

async function redeem(issuer, client, code, verifier) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.token_endpoint_auth_method === 'client_secret_post') {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  } else {
    const encode = (s) => encodeURIComponent(s); // RFC 6749 §2.3.1 form-encodes both parts
    headers.authorization = `Basic ${Buffer.from(`${encode(client.client_id)}:${encode(client.client_secret)}`).toString('base64')}`;
  }
  const res = await fetch(`${issuer}/oauth2/v1/token`, { method: 'POST', headers, body });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

/** Full code flow; returns the token response plus what the RP sent. */
async function login(issuer, client = ACME_BASIC, options = {}) {
  const { params, verifier, nonce, jar } = await authorize(issuer, client, options);
  assert.ok(params.code, `no code in callback: ${JSON.stringify(params)}`);
  return { tokens: await redeem(issuer, client, params.code, verifier), params, nonce, jar };
}

async function json(url, init) {
  const res = await fetch(url, init);
  assert.ok(res.ok, `${url}: ${res.status}`);
  return res.json();
}

const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const publishedKids = async (issuer) => (await json(`${issuer}/oauth2/v1/keys`)).keys.map((k) => k.kid);

async function verifyWithJwks(issuer, idToken, audience) {
  const jwks = createLocalJWKSet(await json(`${issuer}/oauth2/v1/keys`));
  return (await jwtVerify(idToken, jwks, { issuer, audience, algorithms: ['RS256'] })).payload;
}

describe('okta simulator', () => {
  let child;
  let dir;
  let orgs;
  let acme;
  const extraStdout = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'okta-sim-'));
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(CONFIG));
    child = spawn(process.execPath, [MAIN, '--config', configPath, '--exit-on-stdin-close'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const [first] = await once(lines, 'line');
    lines.on('line', (line) => extraStdout.push(line));
    const ready = JSON.parse(first);
    assert.equal(ready.ready, true);
    orgs = ready.orgs;
    acme = orgs.acme;
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one ready line listing every org on 127.0.0.1', () => {
    assert.deepEqual(Object.keys(orgs), ['acme', 'globex']);
    for (const url of Object.values(orgs)) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves Okta-shaped discovery', async () => {
    const meta = await json(`${acme}/.well-known/openid-configuration`);
    assert.equal(meta.issuer, acme);
    assert.equal(meta.authorization_endpoint, `${acme}/oauth2/v1/authorize`);
    assert.equal(meta.token_endpoint, `${acme}/oauth2/v1/token`);
    assert.equal(meta.jwks_uri, `${acme}/oauth2/v1/keys`);
    assert.equal(meta.userinfo_endpoint, `${acme}/oauth2/v1/userinfo`);
    assert.equal(meta.end_session_endpoint, `${acme}/oauth2/v1/logout`);
    assert.equal(meta.revocation_endpoint, `${acme}/oauth2/v1/revoke`);
    assert.equal(meta.introspection_endpoint, `${acme}/oauth2/v1/introspect`);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.id_token_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(meta.scopes_supported, ['openid', 'profile', 'email']);
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    assert.ok(!meta.grant_types_supported.includes('refresh_token'));
  });

  it('publishes the keys with the configured Cache-Control', async () => {
    const res = await fetch(`${acme}/oauth2/v1/keys`);
    assert.equal(res.headers.get('cache-control'), 'max-age=123');
    const { keys } = await res.json();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].kty, 'RSA');
    assert.equal(keys[0].alg, 'RS256');
    assert.equal(keys[0].d, undefined);
  });

  it('runs the code flow with PKCE and client_secret_basic, ID token shaped like Okta', async () => {
    const { tokens, params, nonce } = await login(acme);
    assert.equal(params.iss, acme);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.refresh_token, undefined);

    const claims = await verifyWithJwks(acme, tokens.id_token, ACME_BASIC.client_id);
    assert.equal(claims.sub, '00u1ada');
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.email, 'ada@acme.example');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, 'Ada Lovelace');
    assert.equal(claims.preferred_username, 'ada@acme.example');
    assert.equal(claims.zoneinfo, 'Europe/London');
    assert.equal(claims.exp - claims.iat, 3600);

    const userinfo = await json(`${acme}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(userinfo.sub, '00u1ada');
    assert.equal(userinfo.given_name, 'Ada');
  });

  it('requires PKCE', async () => {
    const url = `${acme}/oauth2/v1/authorize?${new URLSearchParams({
      client_id: ACME_BASIC.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
    })}`;
    const location = new URL((await get(url, new CookieJar())).headers.get('location'));
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('accepts client_secret_post for clients configured with it', async () => {
    const { tokens } = await login(acme, ACME_POST);
    assert.equal(decodeJwt(tokens.id_token).aud, ACME_POST.client_id);
  });

  it('logs in the user named by login_hint (email or preferred_username)', async () => {
    const byEmail = await login(acme, ACME_BASIC, { loginHint: 'grace@acme.example' });
    assert.equal(decodeJwt(byEmail.tokens.id_token).sub, '00u1grace');
    const byUsername = await login(acme, ACME_BASIC, { loginHint: 'ghopper' });
    assert.equal(decodeJwt(byUsername.tokens.id_token).sub, '00u1grace');
  });

  it('switches user when login_hint names someone other than the session user', async () => {
    const first = await login(acme);
    assert.equal(decodeJwt(first.tokens.id_token).sub, '00u1ada');
    const again = await login(acme, ACME_BASIC, { jar: first.jar });
    assert.equal(decodeJwt(again.tokens.id_token).sub, '00u1ada');
    const switched = await login(acme, ACME_BASIC, { jar: first.jar, loginHint: 'grace@acme.example' });
    assert.equal(decodeJwt(switched.tokens.id_token).sub, '00u1grace');
  });

  it('answers an unknown login_hint with access_denied at the redirect_uri', async () => {
    const signedIn = (await login(acme)).jar;
    for (const jar of [new CookieJar(), signedIn]) {
      const { params } = await authorize(acme, ACME_BASIC, { jar, loginHint: 'nobody@acme.example' });
      assert.equal(params.error, 'access_denied');
      assert.equal(params.error_description, 'unknown user');
      assert.equal(params.iss, acme);
    }
  });

  it('keeps orgs apart: each is its own issuer with its own users', async () => {
    const globexClient = CONFIG.orgs[1].clients[0];
    const { tokens } = await login(orgs.globex, globexClient);
    const claims = await verifyWithJwks(orgs.globex, tokens.id_token, globexClient.client_id);
    assert.equal(claims.sub, '00u1hank');
    assert.equal(claims.iss, orgs.globex);
  });

  it('logs out without a confirmation page and returns to post_logout_redirect_uri', async () => {
    const { tokens, jar } = await login(acme);
    const url = `${acme}/oauth2/v1/logout?${new URLSearchParams({
      id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 'st',
    })}`;
    const page = await get(url, jar);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /document\.forms\[0\]\.submit\(\)/);
    assert.equal(parseForm(html).fields.get('logout'), 'yes');
    const back = await browse(url, jar, 'http://127.0.0.1:9/bye');
    assert.equal(back.href, 'http://127.0.0.1:9/bye?state=st');
    // The session really ended: silent authentication now fails.
    const { params } = await authorize(acme, ACME_BASIC, { jar, extra: { prompt: 'none' } });
    assert.equal(params.error, 'login_required');
  });

  it('rotates keys: new kid signs, old kids stay published unless retired, unpublished keys stay hidden', async () => {
    const before = await publishedKids(acme);
    const old = await login(acme); // a session from before rotation survives it

    const rotated = await json(`${acme}/__sim/keys/rotate`, { method: 'POST' });
    assert.ok(!before.includes(rotated.kid));
    assert.deepEqual(rotated.published_kids, [rotated.kid, ...before]);
    assert.deepEqual(await publishedKids(acme), rotated.published_kids);
    const afterRotation = await login(acme, ACME_BASIC, { jar: old.jar });
    assert.equal(decodeProtectedHeader(afterRotation.tokens.id_token).kid, rotated.kid);
    await verifyWithJwks(acme, afterRotation.tokens.id_token, ACME_BASIC.client_id);

    const hidden = await (await post(`${acme}/__sim/keys/rotate`, { publish: false })).json();
    assert.deepEqual(hidden.published_kids, rotated.published_kids);
    const unverifiable = await login(acme);
    assert.equal(decodeProtectedHeader(unverifiable.tokens.id_token).kid, hidden.kid);
    await assert.rejects(verifyWithJwks(acme, unverifiable.tokens.id_token, ACME_BASIC.client_id));

    const emergency = await (await post(`${acme}/__sim/keys/rotate`, { retire_previous: true })).json();
    assert.deepEqual(emergency.published_kids, [emergency.kid]);
    assert.deepEqual(await publishedKids(acme), [emergency.kid]);
    const fresh = await login(acme);
    assert.equal(decodeProtectedHeader(fresh.tokens.id_token).kid, emergency.kid);
  });

  it('tampers with exactly the next ID token', async () => {
    const tamper = async (body) => assert.equal((await post(`${acme}/__sim/tamper`, body)).status, 204);
    const kid = (await publishedKids(acme))[0];

    await tamper({ claims: { aud: 'someone-else', nonce: 'x', sub: null } });
    const bad = (await login(acme)).tokens.id_token;
    assert.equal(decodeProtectedHeader(bad).kid, kid);
    const claims = await verifyWithJwks(acme, bad, 'someone-else'); // still validly signed
    assert.equal(claims.nonce, 'x');
    assert.equal('sub' in claims, false);
    assert.equal(claims.email, 'ada@acme.example');

    const good = await login(acme);
    await verifyWithJwks(acme, good.tokens.id_token, ACME_BASIC.client_id);
    assert.equal(decodeJwt(good.tokens.id_token).nonce, good.nonce);

    await tamper({ sign_with: 'unpublished' });
    const foreign = (await login(acme)).tokens.id_token;
    assert.ok(!(await publishedKids(acme)).includes(decodeProtectedHeader(foreign).kid));
    await assert.rejects(verifyWithJwks(acme, foreign, ACME_BASIC.client_id));

    await tamper({ claims: { exp: 123 }, sign_with: 'none' });
    const unsigned = (await login(acme)).tokens.id_token;
    assert.equal(decodeProtectedHeader(unsigned).alg, 'none');
    assert.equal(decodeJwt(unsigned).exp, 123);

    assert.equal((await post(`${acme}/__sim/tamper`, { sign_with: 'bogus' })).status, 400);
  });

  it('counts endpoint hits and resets the counters', async () => {
    assert.equal((await fetch(`${acme}/__sim/stats/reset`, { method: 'POST' })).status, 204);
    await json(`${acme}/.well-known/openid-configuration`);
    await json(`${acme}/oauth2/v1/keys`);
    const { tokens } = await login(acme);
    await json(`${acme}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.deepEqual(await json(`${acme}/__sim/stats`), {
      discovery: 1, authorize: 1, token: 1, keys: 1, userinfo: 1, logout: 0,
    });
  });

  it('exits cleanly on SIGTERM and never writes to stdout after the ready line', async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(extraStdout, []);
  });
});

it('exits when stdin closes with --exit-on-stdin-close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'okta-sim-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ orgs: [CONFIG.orgs[1]] }));
  const child = spawn(process.execPath, [MAIN, '--config', configPath, '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  assert.deepEqual(Object.keys(JSON.parse(line).orgs), ['globex']);
  child.stdin.end();
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  await rm(dir, { recursive: true, force: true });
});
