import { expect, test } from '@playwright/test';
import { screenshots, signInByEmail, signOut, watchConsole } from './support.mjs';

// Fixed in tests/simulator.json: acme's client secret, and Ada invited as acme's admin.
const CLIENT_SECRET = 'acme-e2e-secret-0123456789abcdef';
const APP = 'http://127.0.0.1:3100';
const ACME = 'http://127.0.0.1:4111';

test.describe.configure({ mode: 'serial' });

test('an admin sees each instance with what to paste into Okta, and copies a URL', async ({ page, context }) => {
  const consoleErrors = watchConsole(page);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);

  await signInByEmail(page, 'ada@acme.example', '/settings');

  await expect(page).toHaveURL('/settings');
  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  const card = page.getByRole('region', { name: 'Okta' });
  await expect(card.getByText('Enabled', { exact: true })).toBeVisible();
  await expect(card.getByText('0oa1acmee2e')).toBeVisible();
  await expect(card.getByText('set, ends in …cdef')).toBeVisible();
  await expect(card.getByTestId('issuer-health')).toContainText('1 signing key fetched just now');
  await page.waitForLoadState('networkidle');
  await card.getByRole('button', { name: 'Copy Sign-in redirect URI' }).click();
  await expect(card.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`${APP}/sso/acme-okta/callback`);
  expect(await page.content()).not.toContain(CLIENT_SECRET);
  await screenshots(page, 'settings-instances');

  // The test sign-in opens in a new tab and reports the claims without opening a session.
  const [report] = await Promise.all([
    page.context().waitForEvent('page'),
    card.getByRole('link', { name: 'Test sign-in' }).click(),
  ]);
  await expect(report.getByRole('status')).toContainText('Every check passed');
  const claims = report.getByRole('definition');
  await expect(claims.filter({ hasText: '00u1acmeada' }).first()).toBeVisible();
  await expect(report.getByTestId('clock-skew')).toBeVisible();
  expect(await report.content()).not.toContain(CLIENT_SECRET);
  await screenshots(report, 'settings-test-sign-in');
  await report.close();
  await signOut(page);
  expect(consoleErrors).toEqual([]);
});

test('an admin invites a colleague, who becomes an admin at their first sign-in', async ({ page, browser }) => {
  const consoleErrors = watchConsole(page);
  await signInByEmail(page, 'ada@acme.example', '/settings/admins');
  await expect(page.getByRole('heading', { name: 'Admins' })).toBeVisible();
  await page.waitForLoadState('networkidle');

  // Keyboard only: type the email and press Enter.
  await page.getByLabel('Email', { exact: true }).fill('grace@acme.example');
  await page.getByLabel('Email', { exact: true }).press('Enter');

  await expect(page.getByRole('status').filter({ hasText: 'becomes an admin at their next sign-in' })).toBeVisible();
  await expect(page.getByText('grace@acme.example', { exact: true })).toBeVisible();
  await screenshots(page, 'settings-admins');

  const graceContext = await browser.newContext({ baseURL: APP });
  const grace = await graceContext.newPage();
  const graceErrors = watchConsole(grace);
  await signInByEmail(grace, 'grace@acme.example', '/settings/admins');
  await expect(grace).toHaveURL('/settings/admins');
  await expect(grace.getByRole('button', { name: 'Remove Grace Hopper' })).toBeVisible();
  await expect(grace.getByRole('button', { name: 'Remove Ada Lovelace' })).toBeVisible();
  await signOut(grace);
  await graceContext.close();
  await signOut(page);
  expect(graceErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test('the audit log lists the sign-ins and changes, newest first, and filters by outcome', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await signInByEmail(page, 'ada@acme.example', '/settings/audit');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();

  const rows = page.locator('table.events tbody tr');
  await expect(rows.first()).toContainText('Sign-in');
  await expect(rows.first()).toContainText('user:ada@acme.example');
  await expect(page.getByText('Invitation accepted').first()).toBeVisible();
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Outcome').selectOption('failure');
  await expect(page.getByRole('status').filter({ hasText: 'No events match.' })).toBeVisible();
  await page.getByLabel('Outcome').selectOption('');
  await expect(rows.first()).toContainText('Sign-in');
  await screenshots(page, 'settings-audit');
  await signOut(page);
  expect(consoleErrors).toEqual([]);
});

test('an admin renames an instance and people see the new name', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await signInByEmail(page, 'ada@acme.example', '/settings');
  await page.waitForLoadState('networkidle');
  const card = page.getByRole('region', { name: 'Okta' });

  await card.getByText('Edit', { exact: true }).click();
  await card.getByLabel('Label').fill('Acme SSO');
  await card.getByRole('button', { name: 'Save' }).click();

  await expect(page.getByRole('region', { name: 'Acme SSO' })).toBeVisible();
  await page.goto('/');
  await expect(page.getByTestId('user-instance')).toHaveText('Acme SSO');
  await page.goto('/settings');
  await page.waitForLoadState('networkidle');
  const renamed = page.getByRole('region', { name: 'Acme SSO' });
  await renamed.getByText('Edit', { exact: true }).click();
  await renamed.getByLabel('Label').fill('Okta');
  await renamed.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('region', { name: 'Okta' })).toBeVisible();
  await signOut(page);
  expect(consoleErrors).toEqual([]);
});

test('an admin adds a second instance, keyboard only, tests its connection and activates it', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await signInByEmail(page, 'ada@acme.example', '/settings');
  await page.waitForLoadState('networkidle');
  const form = page.getByRole('region', { name: 'Add an instance' });

  await form.getByLabel('Okta domain').fill('evil.example');
  await form.getByLabel('Okta domain').press('Tab');
  await expect(form.getByRole('alert')).toContainText('neither an Okta domain');
  await form.getByLabel('Okta domain').fill(ACME);
  await form.getByLabel('Okta domain').press('Tab');
  await expect(form.getByRole('status')).toHaveText(`Issuer: ${ACME}`);
  await form.getByLabel('Client ID').fill('0oa1acmecontractors');
  await form.getByLabel('Client secret').fill('contractors-secret-0123456789');
  await form.getByLabel('Label').fill('Contractors');
  await screenshots(page, 'settings-add-instance');
  await form.getByLabel('Label').press('Enter');

  const card = page.getByRole('region', { name: 'Contractors' });
  await expect(card.getByText('Not active yet')).toBeVisible();
  await expect(card.getByText('Disabled', { exact: true })).toBeVisible();
  await expect(card.getByText('set, ends in …6789')).toBeVisible();
  expect(await page.content()).not.toContain('contractors-secret-0123456789');
  await card.getByRole('button', { name: 'Test connection' }).click();
  const result = card.getByRole('status', { name: 'Connection test result' });
  await expect(result.getByText('Passed')).toHaveCount(5);
  await screenshots(page, 'settings-new-instance');
  await card.getByRole('button', { name: 'Activate' }).click();
  await expect(page.getByRole('region', { name: 'Contractors' }).getByText('Enabled', { exact: true })).toBeVisible();

  await page.goto('/o/acme');
  await expect(page.getByRole('link', { name: /Contractors/ })).toBeVisible();

  // Removed again (acme keeps one instance for the other tests), after the confirmation.
  await page.goto('/settings');
  await page.waitForLoadState('networkidle');
  const added = page.getByRole('region', { name: 'Contractors' });
  await added.getByRole('button', { name: 'Remove', exact: true }).click();
  await expect(added.getByRole('alert')).toContainText('Its 0 people and 0 live sessions go with it');
  await added.getByRole('button', { name: 'Remove for good' }).click();
  await expect(page.getByRole('region', { name: 'Contractors' })).toHaveCount(0);
  await signOut(page);
  // The refused domain: Chromium logs every 4xx answer to a fetch.
  const refusal = /Failed to load resource: the server responded with a status of 400/;
  expect(consoleErrors.filter((error) => !refusal.test(error))).toEqual([]);
});

test('someone who is not an admin is told so, and one signed out is asked to sign in', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await page.goto('/settings');
  await expect(page.getByRole('heading', { name: 'Sign in to manage your organization' })).toBeVisible();
  await screenshots(page, 'settings-signed-out');

  await signInByEmail(page, 'hank@globex.example');
  await page.getByTestId('instance-picker').getByRole('link', { name: 'Engineering' }).click();
  await expect(page.getByTestId('user-name')).toHaveText('Hank Scorpio');
  await page.getByRole('link', { name: 'Organization settings' }).click();

  await expect(page.getByRole('heading', { name: 'Only admins can see this' })).toBeVisible();
  await expect(page.getByText('Acme Corp')).toHaveCount(0);
  await screenshots(page, 'settings-not-admin');
  await signOut(page);
  // The refusals themselves: Chromium logs every 4xx answer to a fetch.
  const refusal = /Failed to load resource: the server responded with a status of 40[13]/;
  expect(consoleErrors.filter((error) => !refusal.test(error))).toEqual([]);
});
