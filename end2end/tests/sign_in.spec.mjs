import { expect, test } from '@playwright/test';

const CLIENT_SECRET = 'acme-e2e-secret-0123456789abcdef';

test('a user signs in through their org’s Okta, sees who they are, and signs out', async ({ page }) => {
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });

  await page.goto('/');
  await page.getByLabel('Organization').fill('acme');
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  await page.getByRole('link', { name: /Sign in with Okta/ }).click();

  await expect(page).toHaveURL('/');
  await expect(page.getByTestId('user-name')).toHaveText('Ada Lovelace');
  await expect(page.getByTestId('user-email')).toHaveText('ada@acme.example');
  await expect(page.getByTestId('user-tenant')).toHaveText('Acme Corp');
  await expect(page.getByTestId('user-instance')).toHaveText('Okta');
  expect(await page.content()).not.toContain(CLIENT_SECRET);

  const signedIn = await page.request.get('/api/session');
  expect(signedIn.status()).toBe(200);
  expect(await signedIn.json()).toMatchObject({ tenant: 'acme', instance_id: 'acme-okta', name: 'Ada Lovelace' });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByLabel('Organization')).toBeVisible();
  expect((await page.request.get('/api/session')).status()).toBe(401);

  expect(consoleErrors).toEqual([]);
});

test('the SPA hydrates and finds an org without a full page load', async ({ page }) => {
  await page.goto('/');
  // The wasm bundle must load and take over: a client-side navigation keeps this marker.
  await page.waitForLoadState('networkidle');
  await page.evaluate(() => { window.__stayedOnPage = true; });
  await page.getByLabel('Organization').fill('acme');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL('/o/acme');
  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  expect(await page.evaluate(() => window.__stayedOnPage)).toBe(true);
});

test('an invalid org name is explained in the page', async ({ page }) => {
  await page.goto('/');
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Organization').fill('Not An Org!');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('not a valid organization name');
});
