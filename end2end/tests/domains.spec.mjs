import { expect, test } from '@playwright/test';
import { screenshots, signInByEmail, signOut, watchConsole } from './support.mjs';

// Acme's Okta (tests/simulator.json) also lets in Lin, whose email is at labs.acme.example: a
// domain Acme has not proved yet, so her work email routes nowhere until its admin does.
const ACME = 'http://127.0.0.1:4111';
const LIN = 'lin@labs.acme.example';

/** Chromium logs every 4xx answer to a fetch; the refusals a page shows are those. */
const refusals = (errors) =>
  errors.filter((error) => !/Failed to load resource: the server responded with a status of 40[134]/.test(error));

/** What Acme's IT does at its DNS provider: the simulator's DNS server serves it at once. */
async function publishTxt(name, value) {
  const response = await fetch(`${ACME}/__sim/dns/txt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, values: [value] }),
  });
  expect(response.status).toBe(204);
}

test('an admin proves a domain with a TXT record, and its people then sign in by work email', async ({ page, context, browser }) => {
  test.setTimeout(90_000);
  const consoleErrors = watchConsole(page);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);

  // Before: Lin's work email routes nowhere.
  const lin = await browser.newPage();
  await signInByEmail(lin, LIN);
  await expect(lin.getByTestId('no-match')).toBeVisible();

  await signInByEmail(page, 'ada@acme.example', '/settings/domains');
  await expect(page.getByRole('heading', { name: 'Email domains' })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: 'acme.example' }).first()).toContainText('Added by your Orgpass operator');
  await page.getByLabel('Domain', { exact: true }).fill('labs.acme.example');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'labs.acme.example added' })).toBeVisible();

  const claim = page.getByTestId('domain').filter({ hasText: 'labs.acme.example' });
  await expect(claim).toContainText('Waiting for its DNS record');
  await claim.getByRole('button', { name: 'Copy Record name' }).click();
  const name = await page.evaluate(() => navigator.clipboard.readText());
  await claim.getByRole('button', { name: 'Copy Record value' }).click();
  const value = await page.evaluate(() => navigator.clipboard.readText());
  expect(name).toBe('_orgpass-challenge.labs.acme.example');
  expect(value).toMatch(/^orgpass-domain-verification=[0-9a-f]{32}$/);
  await screenshots(page, 'domains-claim');

  // Verify before the record exists: still pending, and the page says why.
  await claim.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'is not verified yet' })).toContainText(`no TXT record at ${name} yet`);

  await publishTxt(name, value);
  await claim.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'labs.acme.example is verified' })).toBeVisible();
  const verified = page.getByTestId('domain').filter({ hasText: 'labs.acme.example' });
  await expect(verified).toContainText('Verified by its DNS record');
  await expect(verified.getByRole('button', { name: 'Verify' })).toHaveCount(0);

  // The sign-in rule's options are radios named by their labels.
  await expect(page.getByRole('radio', { name: 'Anyone your Okta org lets in' })).toBeChecked();
  await expect(page.getByRole('radio', { name: 'Only people whose email is in a verified domain of this organization' })).not.toBeChecked();
  await screenshots(page, 'domains-verified');

  // Now Lin's work email takes her to Acme's Okta and back, signed in.
  await signInByEmail(lin, LIN);
  await expect(lin.getByTestId('user-name')).toHaveText('Lin Chen');

  // The People tab lists her with her live session; "End sessions" signs her out.
  await page.getByRole('link', { name: 'People' }).click();
  await page.getByLabel('Search by email').fill('lin@');
  const person = page.getByTestId('person').filter({ hasText: LIN });
  await expect(person).toContainText('1 live session');
  await expect(page.getByTestId('person')).toHaveCount(1);
  await screenshots(page, 'people');
  await person.getByRole('button', { name: 'End sessions' }).click();
  await expect(page.getByRole('status').filter({ hasText: '1 session ended' })).toBeVisible();
  await expect(person).toContainText('not signed in');
  await lin.reload();
  await expect(lin.getByLabel('Work email')).toBeVisible();

  // Removing the domain is asked about first; then her email routes nowhere again.
  await page.getByRole('link', { name: 'Email domains' }).click();
  const labs = page.getByTestId('domain').filter({ hasText: 'labs.acme.example' });
  await labs.getByRole('button', { name: 'Remove' }).click();
  await expect(labs.getByRole('alert')).toContainText('will no longer find this organization');
  await labs.getByRole('button', { name: 'Remove domain' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Domain removed.' })).toBeVisible();
  await expect(page.getByTestId('domain').filter({ hasText: 'labs.acme.example' })).toHaveCount(0);
  await signInByEmail(lin, LIN);
  await expect(lin.getByTestId('no-match')).toBeVisible();

  expect(refusals(consoleErrors)).toEqual([]);
  await lin.close();
  await signOut(page);
});
