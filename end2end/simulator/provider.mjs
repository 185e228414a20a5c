// Builds one org's oidc-provider instance, configured to look like Okta's org
// authorization server. Called again on every key rotation, because
// oidc-provider only reads its keys at construction.
import Provider, { interactionPolicy } from 'oidc-provider';

const HOUR = 60 * 60;

export const ROUTES = {
  authorization: '/oauth2/v1/authorize',
  token: '/oauth2/v1/token',
  jwks: '/oauth2/v1/keys',
  userinfo: '/oauth2/v1/userinfo',
  end_session: '/oauth2/v1/logout',
  revocation: '/oauth2/v1/revoke',
  introspection: '/oauth2/v1/introspect',
};

export const interactionPath = (uid) => `/interaction/${uid}`;

/**
 * @param org the Org (users, clients, adapter, cookie keys, current keys)
 * @param onTokenResponse async (body) => body, may rewrite a successful token response
 */
export function buildProvider(org, onTokenResponse) {
  const provider = new Provider(org.issuer, {
    adapter: org.Adapter,
    clients: org.clients.map(toClientMetadata),
    // Signing key first: oidc-provider signs with the first matching key.
    // Older keys stay so id_token_hint values they signed still verify.
    jwks: { keys: org.keys.map((key) => key.privateJwk) },
    cookies: {
      keys: org.cookieKeys,
      // Browsers share cookies across ports of 127.0.0.1, so each org gets
      // its own names or two orgs would overwrite each other's sessions.
      names: {
        session: `${org.slug}_session`,
        interaction: `${org.slug}_interaction`,
        resume: `${org.slug}_interaction_resume`,
      },
    },
    routes: ROUTES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    // No offline_access scope, so oidc-provider never issues refresh tokens.
    scopes: ['openid', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo'],
      email: ['email', 'email_verified'],
    },
    // Okta puts the profile/email claims into the ID token itself.
    conformIdTokenClaims: false,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    allowOmittingSingleRegisteredRedirectUri: false,
    ttl: {
      AccessToken: HOUR,
      AuthorizationCode: org.codeTtl,
      IdToken: HOUR,
      Interaction: HOUR,
      Session: 24 * HOUR,
      Grant: 24 * HOUR,
    },
    findAccount: async (_ctx, sub) => {
      const user = org.users.find((u) => u.sub === sub);
      return user && { accountId: sub, claims: async () => ({ ...user, email_verified: true }) };
    },
    interactions: {
      policy: loginPolicy(org),
      url: (_ctx, interaction) => interactionPath(interaction.uid),
    },
    clientBasedCORS: () => true,
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === ROUTES.token && ctx.status === 200 && ctx.body?.id_token) {
      ctx.body = await onTokenResponse(ctx.body);
    }
  });

  provider.on('server_error', (_ctx, err) => console.error(`[${org.slug}] server_error`, err));
  return provider;
}

function toClientMetadata(client) {
  return {
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
}

// The default login prompt only triggers without a session. A login_hint
// naming someone other than the signed-in user must log in again, so tests
// can switch users in one browser (and an unknown hint gets its error).
function loginPolicy(org) {
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(new interactionPolicy.Check(
    'login_hint_mismatch',
    'login_hint does not name the signed-in user',
    (ctx) => {
      const { params, session } = ctx.oidc;
      return params.login_hint !== undefined && org.userForHint(params.login_hint)?.sub !== session.accountId;
    },
  ));
  return policy;
}

// No confirmation page: submit the logout form (with logout=yes) on load.
async function logoutSource(ctx, form) {
  ctx.body = `<!DOCTYPE html>
<html><head><title>Signing out</title></head>
<body>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>')}
<script>document.forms[0].submit()</script>
</body></html>`;
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'text';
  ctx.body = 'Signed out.';
}
