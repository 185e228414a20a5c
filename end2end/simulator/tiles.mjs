// Okta's end-user dashboard: a tile starts an IdP-initiated login by sending
// the browser to the app's initiate_login_uri (OIDC Core §4) with `iss`.
import { escapeHtml, HttpError } from './http.mjs';

export const tilePath = (clientId) => `/__sim/tile?${new URLSearchParams({ client_id: clientId })}`;

/** Where the tile of `clientId` sends the browser; `target_link_uri` and `login_hint` pass through. */
export function tileLocation(org, query) {
  const clientId = query.get('client_id');
  if (!clientId) throw new HttpError(400, 'client_id is required');
  const client = org.client(clientId);
  if (!client.initiate_login_uri) throw new HttpError(404, `client ${clientId} has no initiate_login_uri`);
  // URL keeps any query the initiate URI already has.
  const location = new URL(client.initiate_login_uri);
  location.searchParams.set('iss', org.issuer);
  for (const name of ['target_link_uri', 'login_hint']) {
    if (query.has(name)) location.searchParams.set(name, query.get(name));
  }
  return location.href;
}

/** A page with one link per tile, so a person can start an IdP-initiated login by hand. */
export function dashboardHtml(org) {
  const title = `${org.slug} · Okta dashboard (simulator)`;
  const tiles = org.clients.filter((c) => c.initiate_login_uri).map((c) => `
    <li><a data-testid="tile-${escapeHtml(c.client_id)}" href="${escapeHtml(tilePath(c.client_id))}">${escapeHtml(c.label ?? c.client_id)}</a>
      <small>${escapeHtml(c.client_id)} → ${escapeHtml(c.initiate_login_uri)}</small></li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d1d21; }
  ul { list-style: none; padding: 0; display: grid; gap: .75rem; }
  li { border: 1px solid #d7d7dc; border-radius: .5rem; padding: .75rem 1rem; }
  a { font-weight: 600; color: #00297a; display: block; }
  small { color: #6e6e78; word-break: break-all; }
</style></head>
<body>
  <h1>${escapeHtml(title)}</h1>
  <p>Issuer <code>${escapeHtml(org.issuer)}</code>. A tile signs you in from Okta's side (IdP-initiated login).</p>
  ${tiles ? `<ul>${tiles}\n  </ul>` : '<p>No client of this org has an <code>initiate_login_uri</code>.</p>'}
</body></html>
`;
}
