// RSA signing keys and the re-signing used by the tamper fault.
import { randomBytes } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from 'jose';

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
  const payload = decodeJwt(idToken);
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }

  switch (signWith) {
    case 'none':
      return new UnsecuredJWT(payload).encode();
    case 'unpublished': {
      const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
      return sign(payload, randomKid(), privateKey);
    }
    default:
      return sign(payload, currentKey.kid, await importJWK(currentKey.privateJwk, 'RS256'));
  }
}

function sign(payload, kid, key) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
}
