import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { STACK_LOG, operator, screenshots, signInByEmail, signOut, watchConsole } from './support.mjs';

// Fixed in tests/simulator.json: Hooli's Okta org (not onboarded by the stack) and its two
// app integrations, not connected to Orgpass yet.
const HOOLI = 'http://127.0.0.1:4113';
const HQ = { client_id: '0oa1hoolihq', client_secret: 'hooli-hq-secret-0123456789abcdef' };
const LAB = { client_id: '0oa1hoolilab', client_secret: 'hooli-lab-secret-0123456789abcdef' };
const LAB_ROTATED = 'hooli-lab-rotated-secret-0123456789-wxyz';

/** What Hooli's Okta admin does in the app's settings in Okta (the simulator's stand-in). */
async function inOkta(clientId, settings) {
  const response = await fetch(`${HOOLI}/__sim/clients/update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, ...settings }),
  });
  expect(response.status).toBe(200);
}

/** Presses a value's "Copy" button (with the keyboard) and returns what it put on the clipboard. */
async function copy(page, card, label) {
  await card.getByRole('button', { name: `Copy ${label}` }).press('Enter');
  await expect(card.getByRole('status').filter({ hasText: 'Copied' }).first()).toBeVisible();
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Chromium logs every 4xx answer to a fetch; the refusals a page shows are those. */
const refusals = (errors) =>
  errors.filter((error) => !/Failed to load resource: the server responded with a status of 40[13]/.test(error));

test('an org onboards itself from a setup link, adds and rotates a second instance, invites an admin, and another org sees none of it', async ({ page, context, browser }) => {
  test.setTimeout(120_000);
  const consoleErrors = watchConsole(page);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);

  // The operator: a new org and a setup link for its admin.
  operator('tenant', 'add', 'hooli', '--name', 'Hooli', '--domain', 'hooli.example');
  const { url: link } = JSON.parse(operator('setup-link', 'create', 'hooli', '--json'));
  const token = link.split('/').pop();

  // 1. The link opens the set-up page: no account needed, the token leaves the address bar.
  // The wizard is done with the keyboard only: fields typed, every button and link pressed.
  await page.goto(link);
  await expect(page).toHaveURL('/setup');
  await expect(page.getByRole('heading', { name: 'Hooli', exact: true })).toBeVisible();
  await page.waitForLoadState('networkidle');
  const connect = page.getByRole('region', { name: 'Connect your Okta app' });
  await connect.getByLabel('Okta domain').fill(HOOLI);
  await connect.getByLabel('Okta domain').press('Tab');
  await expect(connect.getByRole('status')).toHaveText(`Issuer: ${HOOLI}`);
  await connect.getByLabel('Client ID').fill(HQ.client_id);
  await connect.getByLabel('Client secret').fill(HQ.client_secret);
  await connect.getByLabel('Label').fill('Hooli HQ');
  await screenshots(page, 'setup-1-connect');
  await connect.getByLabel('Label').press('Enter');

  // 2. What to enter in Okta, copied from the page and pasted into Okta.
  const hq = page.getByRole('region', { name: 'Hooli HQ' });
  await expect(hq.getByText('Not active yet')).toBeVisible();
  await expect(hq.getByText('set, ends in …cdef')).toBeVisible();
  await page.waitForLoadState('networkidle');
  const redirect = await copy(page, hq, 'Sign-in redirect URI');
  expect(redirect).toMatch(/^http:\/\/127\.0\.0\.1:3100\/sso\/[^/]+\/callback$/);
  const signedOut = await copy(page, hq, 'Sign-out redirect URI');
  await inOkta(HQ.client_id, { redirect_uris: [redirect], post_logout_redirect_uris: [signedOut] });
  await screenshots(page, 'setup-2-values');

  // 3. Test the connection, then a sign-in that shows the claims and signs nobody in.
  const testStep = page.getByRole('region', { name: 'Test and activate' });
  await testStep.getByRole('button', { name: 'Test connection' }).press('Enter');
  await expect(testStep.getByRole('status', { name: 'Connection test result' }).getByText('Passed')).toHaveCount(5);
  const [report] = await Promise.all([
    context.waitForEvent('page'),
    testStep.getByRole('link', { name: 'Test sign-in' }).press('Enter'),
  ]);
  await expect(report.getByRole('status')).toContainText('Every check passed');
  await expect(report.getByRole('definition').filter({ hasText: '00u1hooligavin' }).first()).toBeVisible();
  await screenshots(report, 'setup-3-test-sign-in');
  await report.close();
  await screenshots(page, 'setup-3-tested');

  // 4. Activate; 5. sign in as the first admin (Okta still knows Gavin from the test).
  await testStep.getByRole('button', { name: 'Activate' }).press('Enter');
  const last = page.getByRole('region', { name: 'Sign in as the first admin' });
  await expect(last.getByRole('status')).toContainText('is active');
  await screenshots(page, 'setup-4-active');
  await last.getByRole('link', { name: 'Sign in as the first admin' }).press('Enter');
  await expect(page).toHaveURL('/settings');
  await expect(page.getByRole('heading', { name: 'Hooli', exact: true })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Hooli HQ' }).getByText('Enabled', { exact: true })).toBeVisible();

  // The link is used up.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto(link);
  await expect(strangerPage.getByRole('heading', { name: 'This link is no longer valid' })).toBeVisible();
  await screenshots(strangerPage, 'setup-link-used');
  await stranger.close();

  // A second instance of the same org, from the settings page.
  await page.waitForLoadState('networkidle');
  const form = page.getByRole('region', { name: 'Add an instance' });
  await form.getByLabel('Okta domain').fill(HOOLI);
  await form.getByLabel('Client ID').fill(LAB.client_id);
  await form.getByLabel('Client secret').fill(LAB.client_secret);
  await form.getByLabel('Label').fill('Hooli Lab');
  await form.getByLabel('Label').press('Enter');
  const lab = page.getByRole('region', { name: 'Hooli Lab' });
  await expect(lab.getByText('Not active yet')).toBeVisible();
  await page.waitForLoadState('networkidle');
  await inOkta(LAB.client_id, {
    redirect_uris: [await copy(page, lab, 'Sign-in redirect URI')],
    post_logout_redirect_uris: [await copy(page, lab, 'Sign-out redirect URI')],
  });
  await lab.getByRole('button', { name: 'Test connection' }).click();
  await expect(lab.getByRole('status', { name: 'Connection test result' }).getByText('Passed')).toHaveCount(5);
  await lab.getByRole('button', { name: 'Activate' }).click();
  await expect(page.getByRole('region', { name: 'Hooli Lab' }).getByText('Enabled', { exact: true })).toBeVisible();

  // Its secret rotates: Okta generates the next one, Orgpass holds both, Okta drops the old.
  await page.getByRole('region', { name: 'Hooli Lab' }).getByText('Rotate the client secret').click();
  await page.getByRole('region', { name: 'Hooli Lab' }).getByLabel('Next client secret').fill(LAB_ROTATED);
  await page.getByRole('region', { name: 'Hooli Lab' }).getByRole('button', { name: 'Save next secret' }).click();
  await expect(page.getByRole('region', { name: 'Hooli Lab' }).getByText('Next secret set, ends in …wxyz')).toBeVisible();
  await inOkta(LAB.client_id, { client_secret: LAB_ROTATED });
  await screenshots(page, 'settings-rotation-staged');

  // A second admin, invited by email, who signs in through the rotated instance.
  await page.goto('/settings/admins');
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Email', { exact: true }).fill('jared@hooli.example');
  await page.getByLabel('Email', { exact: true }).press('Enter');
  await expect(page.getByRole('status').filter({ hasText: 'becomes an admin at their next sign-in' })).toBeVisible();
  const jaredContext = await browser.newContext();
  const jared = await jaredContext.newPage();
  const jaredErrors = watchConsole(jared);
  await signInByEmail(jared, 'jared@hooli.example', '/settings/admins');
  await jared.getByTestId('instance-picker').getByRole('link', { name: 'Hooli Lab' }).click();
  await expect(jared).toHaveURL('/settings/admins');
  await expect(jared.getByRole('button', { name: 'Remove Gavin Belson' })).toBeVisible();
  await signOut(jared);
  await jaredContext.close();

  // Okta accepted the next secret: promote it.
  await page.goto('/settings');
  await page.waitForLoadState('networkidle');
  await page.getByRole('region', { name: 'Hooli Lab' }).getByText('Rotate the client secret').click();
  await expect(page.getByRole('region', { name: 'Hooli Lab' }).getByText('Okta accepted it at the last sign-in')).toBeVisible();
  await page.getByRole('region', { name: 'Hooli Lab' }).getByRole('button', { name: 'Promote' }).click();
  await expect(page.getByRole('region', { name: 'Hooli Lab' }).getByText('set, ends in …wxyz').first()).toBeVisible();
  await expect(page.getByRole('region', { name: 'Hooli Lab' }).getByText('none', { exact: true })).toBeVisible();

  // The audit log: both sign-ins and the changes.
  await page.goto('/settings/audit');
  const rows = page.locator('table.events tbody tr');
  await expect(rows.filter({ hasText: 'user:jared@hooli.example' }).filter({ hasText: 'Sign-in' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'user:gavin@hooli.example' }).filter({ hasText: 'Sign-in' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Setup link used' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Test sign-in' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Admin invited' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Instance activated' })).toHaveCount(2);
  await expect(rows.filter({ hasText: 'Instance changed' }).first()).toBeVisible();
  await screenshots(page, 'settings-audit-hooli');
  const instanceId = redirect.split('/').at(-2);
  await signOut(page);

  // Another org's user gets nothing of Hooli's settings.
  const hankContext = await browser.newContext();
  const hank = await hankContext.newPage();
  const hankErrors = watchConsole(hank);
  await signInByEmail(hank, 'hank@globex.example');
  await hank.getByTestId('instance-picker').getByRole('link', { name: 'Engineering' }).click();
  await hank.goto('/settings');
  await expect(hank.getByRole('heading', { name: 'Only admins can see this' })).toBeVisible();
  expect(await hank.content()).not.toContain('Hooli');
  const refused = await hank.goto(`/sso/${instanceId}/test`);
  expect(refused.status()).toBe(403);
  await signOut(hank);
  await hankContext.close();

  // No secret, nor the link's token, in the server's log of all this.
  const log = readFileSync(STACK_LOG, 'utf8');
  expect(log.length).toBeGreaterThan(0);
  for (const secret of [HQ.client_secret, LAB.client_secret, LAB_ROTATED, token]) {
    expect(log).not.toContain(secret);
  }
  expect(refusals(consoleErrors)).toEqual([]);
  expect(refusals(jaredErrors)).toEqual([]);
  expect(refusals(hankErrors)).toEqual([]);
});
