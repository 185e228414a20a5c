// What the browser tests share: the stack's files, console watching, signing in and out,
// screenshots at both widths, and the operator CLI against the running stack.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@playwright/test';

export const APP_PORT = 3100;
/** Written by stack.mjs --state-file: the CLI's binary and environment. */
export const STACK_STATE = join(tmpdir(), `orgpass-e2e-${APP_PORT}.json`);
/** The server's log (stack.mjs --log-file), scanned for secrets. */
export const STACK_LOG = join(tmpdir(), `orgpass-e2e-${APP_PORT}.log`);
const SHOTS = 'test-results/screenshots';

/** Collects console errors (CSP violations included) for the test to check. */
export function watchConsole(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

export async function signInByEmail(page, email, returnTo = '') {
  await page.goto(returnTo ? `/?return_to=${encodeURIComponent(returnTo)}` : '/');
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Work email').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Signs out of Orgpass and Okta, so later tests find no Okta session of this user. */
export async function signOut(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signed-out/);
}

/** Both widths every page must work at: a phone and a desktop. */
export async function screenshots(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  for (const [width, height] of [[360, 780], [1280, 900]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
  }
}

/** Runs `orgpass ARGS…` on the stack's database, as an operator would; returns its stdout. */
export function operator(...args) {
  const stack = JSON.parse(readFileSync(STACK_STATE, 'utf8'));
  return execFileSync(stack.orgpass, args, { env: { ...process.env, ...stack.cliEnv }, encoding: 'utf8' });
}
