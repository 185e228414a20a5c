// Okta's Universal Logout sender: POSTs a global token revocation request
// (draft-parecki-oauth-global-token-revocation) to an app, signed as the org.
import { globalTokenRevocationJwt, SIGN_WITH } from './keys.mjs';
import { HttpError } from './http.mjs';

const LOOPBACK = new Set(['127.0.0.1', '[::1]']);
const TIMEOUT_MS = 10_000;

/**
 * Sends one request as described by the /__sim/universal-logout body and
 * returns what the app answered: `{ status, www_authenticate, body, token }`.
 */
export async function sendUniversalLogout(org, request) {
  if (!isObject(request)) throw new HttpError(400, 'body must be a JSON object');
  const { client_id: clientId, url, raw_body: rawBody, omit_authorization: omitAuthorization = false } = request;
  const target = loopbackUrl(url);
  org.client(clientId); // 404 for a typo rather than a token nobody can match
  if (rawBody === undefined && !isObject(request.sub_id)) throw new HttpError(400, 'sub_id must be an object');
  if (rawBody !== undefined && typeof rawBody !== 'string') throw new HttpError(400, 'raw_body must be a string');
  if (request.token !== undefined && typeof request.token !== 'string') throw new HttpError(400, 'token must be a string');

  const token = omitAuthorization ? null : request.token ?? await buildToken(org, request, target);
  const headers = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await post(target, headers, rawBody ?? JSON.stringify({ sub_id: request.sub_id }));
  return {
    status: response.status,
    www_authenticate: response.headers.get('www-authenticate'),
    body: await response.text(),
    token,
  };
}

/** Okta's JWT for `target`: aud is the endpoint without its query. */
async function buildToken(org, { client_id: clientId, claims = {}, header = {}, sign_with: signWith = 'current' }, target) {
  if (!isObject(claims)) throw new HttpError(400, 'claims must be an object');
  if (!isObject(header)) throw new HttpError(400, 'header must be an object');
  if (!SIGN_WITH.includes(signWith)) throw new HttpError(400, `sign_with must be one of ${SIGN_WITH.join(', ')}`);
  const audience = target.split(/[?#]/)[0];
  try {
    return await globalTokenRevocationJwt({ issuer: org.issuer, clientId, audience, claims, header, signWith }, org.signingKey);
  } catch (err) {
    // jose refuses e.g. a header alg that the key cannot sign with.
    throw new HttpError(400, `cannot sign: ${err.message}`);
  }
}

// Only loopback: the simulator must never become a way to POST to other hosts.
function loopbackUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpError(400, 'url must be an absolute URL');
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || !LOOPBACK.has(parsed.hostname)) {
    throw new HttpError(400, 'url must be http(s) on 127.0.0.1 or [::1]');
  }
  return url;
}

async function post(url, headers, body) {
  try {
    return await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const status = err.name === 'TimeoutError' ? 504 : 502;
    throw new HttpError(status, `POST ${url} failed: ${err.cause?.message ?? err.message}`);
  }
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
