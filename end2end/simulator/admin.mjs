// Test-only control endpoints under /__sim/ (key rotation, faults, an app's settings, counters,
// the dashboard's tiles, sessions, the Universal Logout sender and the shared DNS zone).
import { SIGN_WITH } from './keys.mjs';
import { HttpError, readJson, sendEmpty, sendHtml, sendJson, sendRedirect } from './http.mjs';
import { dashboardHtml, tileLocation } from './tiles.mjs';
import { sendUniversalLogout } from './universal-logout.mjs';

export async function handleAdmin(org, req, res, path) {
  const route = `${req.method} ${path}`;
  const query = new URL(req.url, org.issuer).searchParams;
  switch (route) {
    case 'POST /__sim/keys/rotate': {
      const { retire_previous = false, publish = true, activate = true } = await readJson(req);
      return sendJson(res, 200, await org.rotateKeys({ retirePrevious: retire_previous, publish, activate }));
    }
    case 'POST /__sim/keys/activate': {
      const { kid } = await readJson(req);
      return sendJson(res, 200, org.activateKey(kid));
    }
    case 'POST /__sim/keys/outage': {
      const { down = true } = await readJson(req);
      org.keysDown = Boolean(down);
      return sendEmpty(res);
    }
    case 'POST /__sim/tamper': {
      const { claims = {}, sign_with: signWith = 'current' } = await readJson(req);
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
        throw new HttpError(400, 'claims must be an object');
      }
      if (!SIGN_WITH.includes(signWith)) {
        throw new HttpError(400, `sign_with must be one of ${SIGN_WITH.join(', ')}`);
      }
      org.armTamper({ claims, signWith });
      return sendEmpty(res);
    }
    case 'POST /__sim/clients/update': {
      const { client_id: clientId, ...settings } = await readJson(req);
      return sendJson(res, 200, org.updateClient(clientId, settings));
    }
    case 'GET /__sim/tile':
      return sendRedirect(res, tileLocation(org, query));
    case 'GET /__sim/dashboard':
      return sendHtml(res, 200, dashboardHtml(org));
    case 'GET /__sim/sessions':
      return sendJson(res, 200, { accounts: org.sessionAccounts() });
    case 'POST /__sim/universal-logout':
      return sendJson(res, 200, await sendUniversalLogout(org, await readJson(req)));
    case 'POST /__sim/dns/txt': {
      const { name, values } = await readJson(req);
      org.dns.setTxt(name, values);
      return sendEmpty(res);
    }
    case 'GET /__sim/dns/txt':
      return sendJson(res, 200, org.dns.txtRecords());
    case 'POST /__sim/dns/outage': {
      const { down = true } = await readJson(req);
      org.dns.down = Boolean(down);
      return sendEmpty(res);
    }
    case 'GET /__sim/stats':
      return sendJson(res, 200, org.stats);
    case 'POST /__sim/stats/reset':
      org.resetStats();
      return sendEmpty(res);
    default:
      throw new HttpError(404, `no admin route ${route}`);
  }
}
