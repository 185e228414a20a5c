// One simulated Okta org: its own port, issuer, users, clients, keys and
// Provider, plus the routes oidc-provider does not serve itself.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createMemoryAdapter } from './adapter.mjs';
import { handleAdmin } from './admin.mjs';
import { HttpError, sendError, sendJson } from './http.mjs';
import { completeInteraction } from './interactions.mjs';
import { generateSigningKey, tamperIdToken } from './keys.mjs';
import { buildProvider, interactionPath, ROUTES } from './provider.mjs';

const DISCOVERY = '/.well-known/openid-configuration';

// Endpoint paths counted by /__sim/stats.
const COUNTED = {
  [DISCOVERY]: 'discovery',
  [ROUTES.authorization]: 'authorize',
  [ROUTES.token]: 'token',
  [ROUTES.jwks]: 'keys',
  [ROUTES.userinfo]: 'userinfo',
  [ROUTES.end_session]: 'logout',
};

const zeroStats = () => Object.fromEntries(Object.values(COUNTED).map((name) => [name, 0]));

export class Org {
  /** Keys, newest (= signing) first: `{ kid, privateJwk, publicJwk, published }`. */
  keys = [];
  stats = zeroStats();
  // Outlive Provider rebuilds so sessions and in-flight flows survive rotation.
  Adapter = createMemoryAdapter();
  cookieKeys = [randomBytes(32).toString('base64url')];
  provider;
  issuer;
  #server;
  #callback;
  #tamper = null;

  /** `code_ttl`: seconds an authorization code stays redeemable (Okta: 60; load tests that
   * gather many codes before redeeming them all at once need more). `dns`: the DnsServer
   * whose zone every org's /__sim/dns/ endpoints edit. */
  constructor({ slug, users, clients, jwks_max_age: jwksMaxAge = 300, code_ttl: codeTtl = 60 }, dns) {
    this.slug = slug;
    this.dns = dns;
    this.users = users;
    this.clients = clients;
    this.jwksMaxAge = jwksMaxAge;
    this.codeTtl = codeTtl;
  }

  /** Listens on 127.0.0.1:`port` (0 = any free port); the issuer follows the real port. */
  async start(port) {
    this.keys = [{ ...(await generateSigningKey()), published: true }];
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err) => sendError(res, err));
    });
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', resolve);
    });
    this.issuer = `http://127.0.0.1:${this.#server.address().port}`;
    this.#rebuildProvider();
  }

  close() {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  /** The user a login_hint names (by email or preferred_username); no hint means the first user. */
  userForHint(hint) {
    if (hint === undefined) return this.users[0];
    return this.users.find((u) => u.email === hint || u.preferred_username === hint);
  }

  /**
   * A new key. `activate: false` stages it, as Okta does weeks ahead: published, not yet
   * signing, until `activateKey`.
   */
  async rotateKeys({ retirePrevious, publish, activate }) {
    const key = { ...(await generateSigningKey()), published: publish };
    const [signing, ...older] = this.keys;
    if (activate) this.keys = [key, ...(retirePrevious ? [] : this.keys)];
    else this.keys = [signing, key, ...(retirePrevious ? [] : older)];
    this.#rebuildProvider();
    return { kid: key.kid, published_kids: this.#publishedKeys().map((k) => k.kid) };
  }

  /** Starts signing with a staged key. */
  activateKey(kid) {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) throw new HttpError(404, `no key ${kid}`);
    this.keys = [key, ...this.keys.filter((k) => k !== key)];
    this.#rebuildProvider();
    return { kid, published_kids: this.#publishedKeys().map((k) => k.kid) };
  }

  /** While true, the keys endpoint answers 503, like an IdP outage. */
  keysDown = false;

  /** Arms a one-shot rewrite of the next successful token response's id_token. */
  armTamper(fault) {
    this.#tamper = fault;
  }

  /**
   * What an Okta admin does in the app's settings: replace its sign-in (and sign-out)
   * redirect URIs, e.g. with those Orgpass's settings page shows, or its client secret (a
   * rotation whose old secret is deactivated).
   */
  updateClient(clientId, { redirect_uris: redirectUris, post_logout_redirect_uris: postLogout, client_secret: secret }) {
    const client = this.client(clientId);
    const urls = (list, what) => {
      if (list === undefined) return undefined;
      if (!Array.isArray(list) || list.length === 0 || !list.every((u) => typeof u === 'string' && URL.canParse(u))) {
        throw new HttpError(400, `${what} must be a non-empty list of absolute URLs`);
      }
      return list;
    };
    if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16)) {
      throw new HttpError(400, 'client_secret must be a string of at least 16 characters');
    }
    client.redirect_uris = urls(redirectUris, 'redirect_uris') ?? client.redirect_uris;
    client.post_logout_redirect_uris = urls(postLogout, 'post_logout_redirect_uris') ?? client.post_logout_redirect_uris;
    client.client_secret = secret ?? client.client_secret;
    this.#rebuildProvider();
    return { client_id: clientId, redirect_uris: client.redirect_uris, post_logout_redirect_uris: client.post_logout_redirect_uris ?? [] };
  }

  /** The client configured with this client_id, or a 404. */
  client(clientId) {
    const client = this.clients.find((c) => c.client_id === clientId);
    if (!client) throw new HttpError(404, `no client ${clientId}`);
    return client;
  }

  /** The key that signs now: the first of `keys`. */
  get signingKey() {
    return this.keys[0];
  }

  /** accountId of every live signed-in session, one entry per session. Sessions
   * without an account (a logout page opened while signed out) are left out. */
  sessionAccounts() {
    return this.Adapter.live('Session').map((s) => s.accountId).filter(Boolean);
  }

  resetStats() {
    this.stats = zeroStats();
  }

  #rebuildProvider() {
    this.provider = buildProvider(this, (body) => this.#applyTamper(body));
    this.#callback = this.provider.callback();
  }

  async #applyTamper(tokenResponse) {
    const fault = this.#tamper;
    if (!fault) return tokenResponse;
    this.#tamper = null;
    return { ...tokenResponse, id_token: await tamperIdToken(tokenResponse.id_token, fault, this.signingKey) };
  }

  #publishedKeys() {
    return this.keys.filter((k) => k.published);
  }

  async #handle(req, res) {
    const path = new URL(req.url, this.issuer).pathname;
    const counter = COUNTED[path];
    if (counter) this.stats[counter] += 1;

    if (path.startsWith('/__sim/')) return handleAdmin(this, req, res, path);
    if (path.startsWith(interactionPath(''))) return completeInteraction(this, req, res);
    // Served here rather than by oidc-provider, which would publish every key it holds.
    if (path === ROUTES.jwks && req.method === 'GET') {
      if (this.keysDown) return sendJson(res, 503, { error: 'temporarily_unavailable' });
      return sendJson(res, 200, { keys: this.#publishedKeys().map((k) => k.publicJwk) }, {
        'cache-control': `max-age=${this.jwksMaxAge}`,
      });
    }
    return this.#callback(req, res);
  }
}
