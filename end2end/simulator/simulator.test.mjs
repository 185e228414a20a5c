// Runs the simulator as a child process and drives it over HTTP the way a
// relying party would: fetch with manual redirects and a tiny cookie jar.
// Its DNS server is queried with Node's own resolver, as the server's would query it.
//   cd end2end && node --test simulator/
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import dns2 from 'dns2';

const { Packet, TCPClient, UDPClient } = dns2;

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
        // Signs in only in the sessions test, so its sessions are countable.
        { sub: '00u1edsger', email: 'edsger@acme.example', name: 'Edsger Dijkstra', preferred_username: 'edsger@acme.example' },
      ],
      clients: [
        {
          client_id: 'basic-client', client_secret: 'basic-secret-0123456789abcdef', label: 'Acme <Okta>',
          redirect_uris: [REDIRECT], post_logout_redirect_uris: ['http://127.0.0.1:9/bye'],
          initiate_login_uri: 'http://127.0.0.1:9/sso/acme-okta/initiate?from=okta',
        },
        { client_id: 'post-client', client_secret: 'post-secret-0123456789abcdef', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post' },
        // An app integration not connected yet: Okta's default redirect URI until updated.
        { client_id: 'new-client', client_secret: 'new-secret-0123456789abcdef', redirect_uris: ['http://localhost:8080/authorization-code/callback'] },
      ],
    },
    {
      slug: 'globex',
      port: 0,
      users: [{ sub: '00u1hank', email: 'hank@globex.example', name: 'Hank Scorpio', preferred_username: 'hank@globex.example' }],
      clients: [{
        client_id: 'globex-client', client_secret: 'globex-secret-0123456789abcdef', redirect_uris: [REDIRECT],
        initiate_login_uri: 'http://127.0.0.1:9/sso/globex/initiate',
      }],
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

/**
 * A stand-in app endpoint on 127.0.0.1 that records every request. It answers 204,
 * or 401 with a WWW-Authenticate challenge when there is no Authorization header.
 */
async function startReceiver() {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.headers.authorization) res.writeHead(204).end();
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end('{"error":"invalid_token"}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

describe('okta simulator', () => {
  let child;
  let dir;
  let orgs;
  let acme;
  let dns;
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
    dns = ready.dns;
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one ready line listing every org and the DNS server on 127.0.0.1', () => {
    assert.deepEqual(Object.keys(orgs), ['acme', 'globex']);
    for (const url of Object.values(orgs)) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(dns, /^127\.0\.0\.1:\d+$/);
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

  it('sends a tile to the initiate_login_uri with iss, target_link_uri and login_hint', async () => {
    const tile = async (query) => {
      const res = await get(`${acme}/__sim/tile?${new URLSearchParams(query)}`, new CookieJar());
      assert.equal(res.status, 302, await res.text());
      const location = new URL(res.headers.get('location'));
      return { at: `${location.origin}${location.pathname}`, query: Object.fromEntries(location.searchParams) };
    };
    const target = 'http://127.0.0.1:9/admin?tab=2';
    assert.deepEqual(await tile({ client_id: ACME_BASIC.client_id, target_link_uri: target, login_hint: 'grace@acme.example' }), {
      at: 'http://127.0.0.1:9/sso/acme-okta/initiate',
      query: { from: 'okta', iss: acme, target_link_uri: target, login_hint: 'grace@acme.example' },
    });
    assert.deepEqual((await tile({ client_id: ACME_BASIC.client_id })).query, { from: 'okta', iss: acme });

    for (const clientId of [ACME_POST.client_id, 'no-such-client']) {
      const res = await fetch(`${acme}/__sim/tile?client_id=${clientId}`, { redirect: 'manual' });
      assert.equal(res.status, 404);
      assert.match((await res.json()).error_description, new RegExp(clientId));
    }
    assert.equal((await fetch(`${acme}/__sim/tile`, { redirect: 'manual' })).status, 400);
  });

  it('shows a dashboard with one tile per client that has an initiate_login_uri', async () => {
    const tiles = async (issuer, slug) => {
      const res = await fetch(`${issuer}/__sim/dashboard`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/html/);
      const html = await res.text();
      assert.ok(html.includes(`<title>${slug} · Okta dashboard (simulator)</title>`), html);
      return [...html.matchAll(/<a data-testid="([^"]+)" href="([^"]+)">([^<]+)<\/a>/g)].map((m) => m.slice(1));
    };
    const acmeTiles = await tiles(acme, 'acme');
    // The label is escaped; post-client has no initiate_login_uri, so no tile.
    assert.deepEqual(acmeTiles, [['tile-basic-client', '/__sim/tile?client_id=basic-client', 'Acme &#60;Okta&#62;']]);
    assert.deepEqual(await tiles(orgs.globex, 'globex'), [['tile-globex-client', '/__sim/tile?client_id=globex-client', 'globex-client']]);

    const clicked = await get(new URL(acmeTiles[0][1], acme), new CookieJar());
    assert.equal(clicked.status, 302);
    assert.equal(new URL(clicked.headers.get('location')).searchParams.get('iss'), acme);
  });

  it('lists live sessions, and RP-initiated logout ends one and returns with state', async () => {
    const edsgerSessions = async () => (await json(`${acme}/__sim/sessions`)).accounts.filter((a) => a === '00u1edsger').length;
    const logouts = async () => (await json(`${acme}/__sim/stats`)).logout;
    assert.equal(await edsgerSessions(), 0);
    const { tokens, jar } = await login(acme, ACME_BASIC, { loginHint: 'edsger@acme.example' });
    assert.equal(await edsgerSessions(), 1);

    const before = await logouts();
    const page = await get(`${acme}/oauth2/v1/logout?${new URLSearchParams({
      id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 'after-logout',
    })}`, jar);
    assert.equal(page.status, 200);
    // What the page's script would do: POST its form, hidden fields and cookies included.
    const { action, fields } = parseForm(await page.text());
    const submitted = await fetch(new URL(action, acme), {
      method: 'POST', redirect: 'manual', body: fields,
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.ok([302, 303].includes(submitted.status), `${submitted.status}: ${await submitted.text()}`);
    assert.equal(submitted.headers.get('location'), 'http://127.0.0.1:9/bye?state=after-logout');
    assert.equal(await edsgerSessions(), 0);
    assert.equal(await logouts(), before + 1);
  });

  describe('universal logout sender', () => {
    let receiver;
    let globex;
    let endpoint;
    const client_id = 'globex-client';
    const sub_id = { format: 'email', email: 'hank@globex.example' };
    const send = async (body, expectStatus = 200) => {
      const res = await post(`${globex}/__sim/universal-logout`, body);
      const answer = await res.json();
      assert.equal(res.status, expectStatus, JSON.stringify(answer));
      return answer;
    };
    const verifyCurrent = async (token) => {
      const [jwk] = (await json(`${globex}/oauth2/v1/keys`)).keys;
      return (await jwtVerify(token, await importJWK(jwk, 'RS256'))).payload;
    };

    before(async () => {
      receiver = await startReceiver();
      globex = orgs.globex; // never rotated by the other tests: one key
      endpoint = `${receiver.origin}/sso/globex-eng/global-token-revocation`;
    });
    after(() => receiver.close());

    it('POSTs the sub_id with a bearer JWT built as Okta builds it', async () => {
      receiver.requests.length = 0;
      const answer = await send({ client_id, url: `${endpoint}?probe=1`, sub_id });
      assert.deepEqual({ ...answer, token: undefined }, { status: 204, www_authenticate: null, body: '', token: undefined });

      const [request] = receiver.requests;
      assert.equal(receiver.requests.length, 1);
      assert.equal(request.method, 'POST');
      assert.equal(request.url, '/sso/globex-eng/global-token-revocation?probe=1');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers.authorization, `Bearer ${answer.token}`);
      assert.deepEqual(JSON.parse(request.body), { sub_id });

      const [kid] = await publishedKids(globex);
      assert.deepEqual(decodeProtectedHeader(answer.token), { alg: 'RS256', kid, typ: 'global-token-revocation+jwt' });
      const jwks = createLocalJWKSet(await json(`${globex}/oauth2/v1/keys`));
      const { payload: claims } = await jwtVerify(answer.token, jwks, {
        issuer: globex, audience: endpoint, subject: client_id, typ: 'global-token-revocation+jwt',
      });
      assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
      assert.equal(claims.aud, endpoint); // a string, without the query
      assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 10);
      assert.equal(claims.nbf, claims.iat - 300);
      assert.equal(claims.exp, claims.iat + 300);
      assert.match(claims.jti, /^[\w-]{16,}$/);
      const again = await send({ client_id, url: endpoint, sub_id: { format: 'iss_sub', iss: globex, sub: '00u1hank' } });
      assert.notEqual(decodeJwt(again.token).jti, claims.jti);
      assert.deepEqual(JSON.parse(receiver.requests[1].body), { sub_id: { format: 'iss_sub', iss: globex, sub: '00u1hank' } });
    });

    it('applies claim and header overrides, still signed with the current key', async () => {
      const { token } = await send({
        client_id, url: endpoint, sub_id,
        claims: { aud: 'https://elsewhere.example/x', exp: null, extra: 'yes' },
        header: { kid: 'not-a-kid', typ: null },
      });
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', kid: 'not-a-kid' });
      const claims = await verifyCurrent(token);
      assert.equal(claims.aud, 'https://elsewhere.example/x');
      assert.equal('exp' in claims, false);
      assert.equal(claims.extra, 'yes');
      assert.equal(claims.iss, globex);
    });

    it('signs with an unpublished key, or not at all, on request', async () => {
      const { token } = await send({ client_id, url: endpoint, sub_id, sign_with: 'unpublished' });
      assert.ok(!(await publishedKids(globex)).includes(decodeProtectedHeader(token).kid));
      assert.equal(decodeProtectedHeader(token).typ, 'global-token-revocation+jwt');
      await assert.rejects(verifyCurrent(token));
      assert.equal(decodeJwt(token).sub, client_id);

      const unsigned = (await send({ client_id, url: endpoint, sub_id, sign_with: 'none' })).token;
      assert.deepEqual(decodeProtectedHeader(unsigned), { alg: 'none', typ: 'global-token-revocation+jwt' });
      assert.ok(unsigned.endsWith('.'));
      assert.equal(decodeJwt(unsigned).aud, endpoint);
    });

    it('replays a given token, omits the Authorization header, sends a raw body', async () => {
      const first = await send({ client_id, url: endpoint, sub_id });
      receiver.requests.length = 0;
      const replay = await send({ client_id, url: endpoint, sub_id, token: first.token });
      assert.equal(replay.token, first.token);
      assert.equal(receiver.requests[0].headers.authorization, `Bearer ${first.token}`);

      const bare = await send({ client_id, url: endpoint, sub_id, omit_authorization: true });
      assert.deepEqual(bare, {
        status: 401, www_authenticate: 'Bearer error="invalid_token"', body: '{"error":"invalid_token"}', token: null,
      });
      assert.equal(receiver.requests[1].headers.authorization, undefined);

      await send({ client_id, url: endpoint, raw_body: '{"sub_id": "not an object"' });
      assert.equal(receiver.requests[2].body, '{"sub_id": "not an object"');
      assert.equal(receiver.requests[2].headers['content-type'], 'application/json');
    });

    it('only talks to loopback and refuses malformed requests', async () => {
      receiver.requests.length = 0;
      for (const url of ['http://localhost:9/x', 'http://10.1.2.3/x', 'https://example.com/x', 'ftp://127.0.0.1/x', 'not a url']) {
        const { error_description } = await send({ client_id, url, sub_id }, 400);
        assert.match(error_description, /url must/);
      }
      await send({ client_id: 'no-such-client', url: endpoint, sub_id }, 404);
      await send({ client_id, url: endpoint }, 400); // no sub_id
      await send({ client_id, url: endpoint, sub_id, sign_with: 'bogus' }, 400);
      await send({ client_id, url: endpoint, sub_id, claims: [] }, 400);
      assert.deepEqual(receiver.requests, []);
      // [::1] passes the check; nothing listens there, so the POST itself fails.
      const { port } = new URL(receiver.origin);
      assert.match((await send({ client_id, url: `http://[::1]:${port}/x`, sub_id }, 502)).error_description, /failed/);
    });
  });

  it('takes an app\'s new redirect URIs and secret as an Okta admin enters them', async () => {
    const fresh = { client_id: 'new-client', client_secret: 'new-secret-0123456789abcdef' };
    const request = new URLSearchParams({
      client_id: fresh.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
      code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's', nonce: 'n',
    });
    const refused = await fetch(`${acme}/oauth2/v1/authorize?${request}`, { redirect: 'manual' });
    assert.equal(refused.status, 400, 'an unregistered redirect URI was accepted');

    const updated = await post(`${acme}/__sim/clients/update`, { client_id: fresh.client_id, redirect_uris: [REDIRECT] });
    assert.equal(updated.status, 200);
    await login(acme, fresh);

    const rotated = { ...fresh, client_secret: 'rotated-secret-0123456789abcdef' };
    assert.equal((await post(`${acme}/__sim/clients/update`, { client_id: fresh.client_id, client_secret: rotated.client_secret })).status, 200);
    await login(acme, rotated);
    const { params, verifier } = await authorize(acme, fresh);
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: params.code, redirect_uri: REDIRECT, code_verifier: verifier });
    const basic = Buffer.from(`${fresh.client_id}:${fresh.client_secret}`).toString('base64');
    const old = await fetch(`${acme}/oauth2/v1/token`, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal((await old.json()).error, 'invalid_client');

    assert.equal((await post(`${acme}/__sim/clients/update`, { client_id: fresh.client_id, redirect_uris: [] })).status, 400);
    assert.equal((await post(`${acme}/__sim/clients/update`, { client_id: 'nobody', redirect_uris: [REDIRECT] })).status, 404);
  });

  describe('dns server', () => {
    const CHALLENGE = '_orgpass-challenge.acme.example';
    let resolver;
    let udpQuery;
    let tcpQuery;
    const setTxt = (name, values, issuer = acme) => post(`${issuer}/__sim/dns/txt`, { name, values });
    const publish = async (name, values, issuer) => assert.equal((await setTxt(name, values, issuer)).status, 204);
    const zone = () => json(`${acme}/__sim/dns/txt`);
    const outage = async (down) => assert.equal((await post(`${acme}/__sim/dns/outage`, { down })).status, 204);

    before(() => {
      // Short timeout, no retry: the outage test waits for exactly one.
      resolver = new Resolver({ timeout: 200, tries: 1 });
      resolver.setServers([dns]);
      // Node's resolver lowercases names; dns2's clients send them as written.
      const [host, port] = dns.split(':');
      udpQuery = UDPClient({ dns: host, port: Number(port), timeout: 1000, retryOverTCP: false });
      tcpQuery = TCPClient({ dns: host, port: Number(port) });
    });

    it('answers the TXT values published through any org, replaced and removed on request', async () => {
      await publish(CHALLENGE, ['orgpass-domain-verification=abc', 'v=spf1 -all']);
      assert.deepEqual(await resolver.resolveTxt(CHALLENGE), [['orgpass-domain-verification=abc'], ['v=spf1 -all']]);
      assert.deepEqual((await json(`${orgs.globex}/__sim/dns/txt`))[CHALLENGE], ['orgpass-domain-verification=abc', 'v=spf1 -all']);

      await publish(CHALLENGE, ['orgpass-domain-verification=xyz'], orgs.globex); // one zone for all orgs
      assert.deepEqual(await resolver.resolveTxt(CHALLENGE), [['orgpass-domain-verification=xyz']]);

      await publish(CHALLENGE, []);
      assert.equal(CHALLENGE in await zone(), false);
      await assert.rejects(resolver.resolveTxt(CHALLENGE), { code: 'ENOTFOUND' });
    });

    it('matches names case-insensitively, trailing dot or not', async () => {
      await publish('_OrgPass-Challenge.Globex.Example.', ['orgpass-domain-verification=g']);
      assert.deepEqual((await zone())['_orgpass-challenge.globex.example'], ['orgpass-domain-verification=g']);
      assert.deepEqual(await resolver.resolveTxt('_orgpass-challenge.globex.example'), [['orgpass-domain-verification=g']]);
      const { answers } = await udpQuery('_ORGPASS-Challenge.GLOBEX.example', 'TXT');
      assert.deepEqual(answers.map((a) => [a.name, a.data]), [['_ORGPASS-Challenge.GLOBEX.example', ['orgpass-domain-verification=g']]]);
      await publish('_orgpass-challenge.GLOBEX.example', []);
      assert.deepEqual(await zone(), {});
    });

    it('answers NOERROR without records for a known name asked for another type', async () => {
      await publish(CHALLENGE, ['orgpass-domain-verification=abc']);
      await assert.rejects(resolver.resolve4(CHALLENGE), { code: 'ENODATA' });
      await assert.rejects(resolver.resolve6(CHALLENGE), { code: 'ENODATA' });
      await assert.rejects(resolver.resolve4('nothing.acme.example'), { code: 'ENOTFOUND' });
      await publish(CHALLENGE, []);
    });

    it('answers over TCP on the same port, where a resolver retries a truncated UDP answer', async () => {
      await publish(CHALLENGE, ['orgpass-domain-verification=abc']);
      const overTcp = await tcpQuery(CHALLENGE, 'TXT');
      assert.deepEqual(overTcp.answers.map((a) => [a.data, a.ttl]), [[['orgpass-domain-verification=abc'], 0]]);
      assert.equal((await tcpQuery('nothing.acme.example', 'TXT')).header.rcode, Packet.RCODE.NXDOMAIN);
      await publish(CHALLENGE, []);
      // Eight 200-byte values overflow a 512-byte UDP answer: TC set, the resolver retries over TCP.
      const values = Array.from({ length: 8 }, (_, i) => String(i).repeat(200));
      await publish('big.acme.example', values);
      assert.deepEqual(await resolver.resolveTxt('big.acme.example'), values.map((v) => [v]));
      await publish('big.acme.example', []);
    });

    it('refuses a malformed body', async () => {
      for (const body of [
        { values: ['x'] },
        { name: 'not a name', values: ['x'] },
        { name: 'a..b', values: ['x'] },
        { name: CHALLENGE },
        { name: CHALLENGE, values: 'x' },
        { name: CHALLENGE, values: [1] },
        { name: CHALLENGE, values: ['x'.repeat(256)] },
      ]) {
        const res = await post(`${acme}/__sim/dns/txt`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.ok((await res.json()).error_description, JSON.stringify(body));
      }
      assert.equal((await fetch(`${acme}/__sim/dns/txt`, { method: 'POST', body: '{' })).status, 400);
      assert.deepEqual(await zone(), {});
    });

    it('drops every query during an outage, so a client times out, and answers again after', async () => {
      await publish(CHALLENGE, ['orgpass-domain-verification=abc']);
      await outage(true);
      await assert.rejects(resolver.resolveTxt(CHALLENGE), { code: 'ETIMEOUT' });
      await outage(false);
      assert.deepEqual(await resolver.resolveTxt(CHALLENGE), [['orgpass-domain-verification=abc']]);
      await publish(CHALLENGE, []);
    });
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

it('refuses a "dns_port" that is not a port number', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'okta-sim-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ dns_port: 70000, orgs: [CONFIG.orgs[1]] }));
  const child = spawn(process.execPath, [MAIN, '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const [code] = await once(child, 'close'); // after stderr is drained
  assert.equal(code, 2);
  assert.match(stderr, /"dns_port" must be a port number/);
  await rm(dir, { recursive: true, force: true });
});
