// Headless login and consent: every interaction is finished immediately
// through oidc-provider's interaction API, with no page shown.

export async function completeInteraction(org, req, res) {
  const { provider } = org;
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);

  if (prompt.name === 'login') {
    const user = org.userForHint(params.login_hint);
    const result = user
      ? { login: { accountId: user.sub } }
      : { error: 'access_denied', error_description: 'unknown user' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  // Consent: grant whatever openid/profile/email scopes and claims are missing.
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  const result = { consent: { grantId: await grant.save() } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}
