// RSA signing keys, the re-signing used by the tamper fault, and the JWTs Okta
// sends for Universal Logout.
import { randomBytes } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

// Okta kids are opaque random strings; anything unique will do.
const randomKid = () => randomBytes(16).toString('base64url');

/** A fresh RS256 key: `{ kid, privateJwk, publicJwk }`. */
export async function generateSigningKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const kid = randomKid();
  const meta = { kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
    publicJwk: { ...(await exportJWK(publicKey)), ...meta },
  };
}

export const SIGN_WITH = ['current', 'unpublished', 'none'];

/**
 * Rewrites an ID token: `claims` overrides its payload (null deletes a claim)
 * and `signWith` picks the signature: "current" (the provider's signing key),
 * "unpublished" (a throwaway key nobody can verify) or "none" (alg=none).
 */
export async function tamperIdToken(idToken, { claims = {}, signWith = 'current' }, currentKey) {
  return signAs(signWith, override(decodeJwt(idToken), claims), {}, {}, currentKey);
}

/** Okta's Universal Logout JWT type (draft-parecki-oauth-global-token-revocation). */
export const GLOBAL_TOKEN_REVOCATION_TYP = 'global-token-revocation+jwt';

/**
 * The bearer token Okta sends to an app's global token revocation endpoint:
 * header `{alg: RS256, kid, typ}`, claims iss = the org, sub = the client, aud =
 * the endpoint, valid 5 minutes either side of now. `claims` and `header`
 * override (null deletes); `signWith` as for tamperIdToken.
 */
export async function globalTokenRevocationJwt(
  { issuer, clientId, audience, claims = {}, header = {}, signWith = 'current' },
  currentKey,
) {
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    iss: issuer,
    sub: clientId,
    aud: audience,
    jti: randomBytes(16).toString('base64url'),
    iat,
    nbf: iat - 300,
    exp: iat + 300,
  };
  return signAs(signWith, override(payload, claims), { typ: GLOBAL_TOKEN_REVOCATION_TYP }, header, currentKey);
}

/** `target` with `changes` applied: a null value deletes the entry. */
function override(target, changes) {
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete target[name];
    else target[name] = value;
  }
  return target;
}

/**
 * Signs `payload`. The header is `{alg, kid}` for the chosen key (just `{alg: none}`
 * for "none"), then `extra`, then the caller's `overrides`.
 */
async function signAs(signWith, payload, extra, overrides, currentKey) {
  if (signWith === 'none') {
    // By hand: jose's UnsecuredJWT takes no header fields beyond alg.
    const header = override({ alg: 'none', ...extra }, overrides);
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part(header)}.${part(payload)}.`;
  }
  const { kid, key } = signWith === 'unpublished'
    ? { kid: randomKid(), key: (await generateKeyPair('RS256', { modulusLength: 2048 })).privateKey }
    : { kid: currentKey.kid, key: await importJWK(currentKey.privateJwk, 'RS256') };
  const header = override({ alg: 'RS256', kid, ...extra }, overrides);
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}
