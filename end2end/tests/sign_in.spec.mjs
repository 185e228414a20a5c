import { expect, test } from '@playwright/test';
import { signInByEmail, watchConsole } from './support.mjs';

// Fixed in tests/simulator.json: the simulated orgs' issuers and the app's port.
const ACME = 'http://127.0.0.1:4111';
const APP = 'http://127.0.0.1:3100';
const ACME_CLIENT = '0oa1acmee2e';
const CLIENT_SECRET = 'acme-e2e-secret-0123456789abcdef';

async function oktaSessions(issuer) {
  const response = await fetch(`${issuer}/__sim/sessions`);
  return (await response.json()).accounts;
}

test('a user signs in with their work email, sees who they are, and signs out of Orgpass and Okta', async ({ page }) => {
  const consoleErrors = watchConsole(page);

  await signInByEmail(page, 'ada@acme.example');

  await expect(page).toHaveURL('/');
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');
  await expect(page.getByTestId('user-email')).toHaveText('ada@acme.example');
  await expect(page.getByTestId('user-tenant')).toHaveText('Acme Corp');
  await expect(page.getByTestId('user-instance')).toHaveText('Okta');
  expect(await page.content()).not.toContain(CLIENT_SECRET);
  const signedIn = await page.request.get('/api/session');
  expect(signedIn.status()).toBe(200);
  expect(await signedIn.json()).toMatchObject({ tenant: 'acme', instance_id: 'acme-okta', name: 'Ada Lovelace' });
  expect(await oktaSessions(ACME)).toContain('00u1acmeada');

  await page.getByRole('button', { name: 'Sign out' }).click();

  await expect(page).toHaveURL(/\/signed-out/);
  await expect(page.getByRole('heading', { name: 'You are signed out' })).toBeVisible();
  expect((await page.request.get('/api/session')).status()).toBe(401);
  expect(await oktaSessions(ACME)).not.toContain('00u1acmeada');
  expect(consoleErrors).toEqual([]);
});

test('an end user downloads none of the admin pages\' wasm; an admin page loads its own', async ({ page }) => {
  const wasm = [];
  page.on('request', (request) => {
    if (request.url().endsWith('.wasm')) wasm.push(new URL(request.url()).pathname);
  });

  await signInByEmail(page, 'ada@acme.example');
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');
  await page.waitForLoadState('networkidle');
  expect([...new Set(wasm)]).toEqual(['/pkg/orgpass.wasm']);

  await page.getByRole('link', { name: 'Organization settings' }).click();
  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  expect(wasm.some((path) => /^\/pkg\/split___settings_route_view_/.test(path))).toBe(true);
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signed-out/);
});

test('an org with two instances lets the user pick one', async ({ page }) => {
  const consoleErrors = watchConsole(page);

  await signInByEmail(page, 'hank@globex.example');

  const picker = page.getByTestId('instance-picker');
  await expect(picker.getByRole('link')).toHaveText(['Engineering', 'Operations']);
  await picker.getByRole('link', { name: 'Operations' }).click();
  await expect(page.getByTestId('user-name')).toHaveText('Hank Scorpio');
  await expect(page.getByTestId('user-instance')).toHaveText('Operations');
  expect(consoleErrors).toEqual([]);
});

test('the Okta tile signs the user in and lands on the deep link', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  const deepLink = encodeURIComponent(`${APP}/o/acme?from=tile`);

  await page.goto(`${ACME}/__sim/tile?client_id=${ACME_CLIENT}&target_link_uri=${deepLink}`);

  await expect(page).toHaveURL('/o/acme?from=tile');
  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  expect((await page.request.get('/api/session')).status()).toBe(200);
  expect(consoleErrors).toEqual([]);
});

test('a tile on the simulated Okta dashboard signs the user in', async ({ page }) => {
  await page.goto(`${ACME}/__sim/dashboard`);
  await page.getByTestId(`tile-${ACME_CLIENT}`).click();
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');
});

test('Universal Logout from Okta ends a live browser session at the next navigation', async ({ page }) => {
  await signInByEmail(page, 'ada@acme.example');
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');

  const sent = await fetch(`${ACME}/__sim/universal-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: ACME_CLIENT,
      url: `${APP}/sso/acme-okta/global-token-revocation`,
      sub_id: { format: 'email', email: 'ada@acme.example' },
    }),
  });
  expect((await sent.json()).status).toBe(204);

  await page.reload();
  await expect(page.getByTestId('session-ended')).toContainText('Your session has ended');
  await expect(page.getByLabel('Work email')).toBeVisible();
});

test('an open tab notices when the session ends in another tab', async ({ page, context }) => {
  await signInByEmail(page, 'ada@acme.example');
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');

  const other = await context.newPage();
  await other.goto('/');
  await other.getByRole('button', { name: 'Sign out' }).click();
  await expect(other).toHaveURL(/\/signed-out/);

  await page.bringToFront();
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(page.getByTestId('session-ended')).toContainText('Your session has ended');
});

test('the SPA hydrates: an unknown work email gets one neutral answer without a page load', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await page.goto('/');
  await page.waitForLoadState('networkidle');
  await page.evaluate(() => { window.__stayedOnPage = true; });

  await page.getByLabel('Work email').fill('someone@initech.example');
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page.getByTestId('no-match')).toContainText('could not find a sign-in for that email');
  expect(await page.evaluate(() => window.__stayedOnPage)).toBe(true);
  expect(consoleErrors).toEqual([]);
});

test('a malformed email is explained next to the field', async ({ page }) => {
  await signInByEmail(page, 'not-an-email');
  await expect(page.getByRole('alert')).toContainText('is not an email address');
  await expect(page.getByLabel('Work email')).toHaveAttribute('aria-invalid', 'true');
});

test('the org page still offers one button per instance', async ({ page }) => {
  await page.goto('/o/globex');
  await expect(page.getByRole('link', { name: /Sign in with Okta/ })).toHaveCount(2);
});

test('an unknown page says so, under the same script policy', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  const response = await page.goto('/no-such-page');
  expect(response.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  // The 404 status itself is the one expected console error.
  expect(consoleErrors.filter((text) => !text.includes('404'))).toEqual([]);
});

test.describe('before the app has hydrated (its wasm never arrives)', () => {
  test.beforeEach(async ({ page }) => {
    await page.route('**/*.wasm', (route) => route.abort());
  });

  test('the email form still leads to Okta and back', async ({ page }) => {
    await page.goto('/');
    // The streamed page must be complete (its inline scripts ran); only the wasm is missing.
    await page.waitForLoadState('networkidle');
    await page.getByLabel('Work email').fill('ada@acme.example');
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('link', { name: 'Continue' }).click();
    await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');
  });

  test('an org with two instances shows the picker', async ({ page }) => {
    await page.goto('/');
    // The streamed page must be complete (its inline scripts ran); only the wasm is missing.
    await page.waitForLoadState('networkidle');
    await page.getByLabel('Work email').fill('hank@globex.example');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByTestId('instance-picker').getByRole('link')).toHaveText(['Engineering', 'Operations']);
  });
});
