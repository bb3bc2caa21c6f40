// The login and consent pages in a real browser: headless Chromium driven
// by playwright-core. Started by tests/e2e/browser.rs, which runs the app
// and passes its address and a user and client in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const { ISSUER, CLIENT_ID, REDIRECT_URI, USERNAME, PASSWORD } = process.env;

function authorizeUrl(extra = {}) {
  const p = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: REDIRECT_URI,
    state: 'state-123',
    nonce: 'nonce-456',
    // RFC 7636 appendix B
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${ISSUER}/authorize?${p}`;
}

async function withPage(fn) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    // The client's redirect URI is not served here: answer it in the browser
    // and record where the OP sent us.
    const landed = [];
    await page.route(`${REDIRECT_URI}**`, (route) => {
      landed.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="rp">client</p>' });
    });
    await fn(page, landed);
  } finally {
    await browser.close();
  }
}

test('log in, consent, land on the redirect URI with a code', async () => {
  await withPage(async (page, landed) => {
    await page.goto(authorizeUrl());
    assert.match(await page.title(), /^Sign in/);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('#sign-in');
    await page.waitForSelector('#approve');
    assert.match(await page.textContent('#consent-scopes'), /\S/);
    await page.click('#approve');
    await page.waitForSelector('#rp');
    const url = new URL(landed.at(-1));
    assert.ok(url.searchParams.get('code'), 'a code');
    assert.equal(url.searchParams.get('state'), 'state-123');
    assert.equal(url.searchParams.get('iss'), ISSUER);
  });
});

test('a wrong password shows an error and no code', async () => {
  await withPage(async (page, landed) => {
    await page.goto(authorizeUrl());
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill('not the password');
    await page.click('#sign-in');
    const error = await page.waitForSelector('#login-error');
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.match(await error.textContent(), /\S/);
    assert.equal(landed.length, 0);
  });
});

test('keyboard only: Tab through the form, Enter to sign in and to approve', async () => {
  await withPage(async (page, landed) => {
    await page.goto(authorizeUrl({ state: 'kbd', prompt: 'consent' }));
    // The username field has focus on load (autofocus).
    assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
    await page.keyboard.type(USERNAME);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'sign-in');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#approve');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'approve');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#rp');
    assert.equal(new URL(landed.at(-1)).searchParams.get('state'), 'kbd');
  });
});
