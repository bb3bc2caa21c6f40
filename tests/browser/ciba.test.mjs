// The CIBA approval page (/bc-approve) in a real browser: headless
// Chromium (playwright-core) plays the user; the client's backchannel
// requests and polls are plain fetches. Started by tests/e2e/browser.rs,
// which runs the app and passes its address, a poll-mode CIBA client with
// its secret, and a user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const { ISSUER, CIBA_CLIENT_ID, CIBA_CLIENT_SECRET, USERNAME, PASSWORD } = process.env;
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
const basic = 'Basic ' + Buffer.from(`${CIBA_CLIENT_ID}:${CIBA_CLIENT_SECRET}`).toString('base64');

async function withPage(fn) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await fn(await browser.newPage());
  } finally {
    await browser.close();
  }
}

async function form(path, params) {
  const response = await fetch(`${ISSUER}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: await response.json() };
}

const start = (bindingMessage) =>
  form('/bc-authorize', { scope: 'openid profile', login_hint: USERNAME, binding_message: bindingMessage });
const poll = (authReqId) => form('/token', { grant_type: CIBA_GRANT, auth_req_id: authReqId });

async function signIn(page) {
  assert.match(await page.title(), /^Sign in/);
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.click('#sign-in');
}

test('sign in from the approval page and allow: the client gets tokens', async () => {
  const started = await start('Order 4711');
  assert.equal(started.status, 200);
  const { auth_req_id } = started.body;
  assert.equal((await poll(auth_req_id)).body.error, 'authorization_pending');
  await withPage(async (page) => {
    await page.goto(`${ISSUER}/bc-approve`);
    await signIn(page);
    await page.waitForSelector('#bc-request-0');
    assert.equal(await page.textContent('#bc-request-0 .bc-client'), 'Web Shop');
    assert.equal(await page.textContent('#bc-request-0 .bc-binding-message'), 'Order 4711');
    assert.match(await page.textContent('#bc-request-0 .bc-scopes'), /profile|name/i);
    assert.match(await page.textContent('#bc-request-0 .bc-expires'), /Expires in/);
    await page.click('#approve-0');
    await page.waitForSelector('#bc-approved');
    assert.equal(await page.textContent('#client-name'), 'Web Shop');
    await page.click('text=Other requests');
    await page.waitForSelector('#bc-none');
  });
  const tokens = await poll(auth_req_id);
  assert.equal(tokens.status, 200);
  assert.ok(tokens.body.access_token && tokens.body.id_token);
  assert.equal((await poll(auth_req_id)).body.error, 'invalid_grant', 'redeemed once');
});

test('deny with the keyboard: the client gets access_denied', async () => {
  const { body } = await start('Login at the kiosk');
  await withPage(async (page) => {
    await page.goto(`${ISSUER}/bc-approve`);
    await signIn(page);
    await page.waitForSelector('#bc-request-0');
    assert.equal(await page.textContent('#bc-request-0 .bc-binding-message'), 'Login at the kiosk');
    // Keyboard only: Deny is the next button after Allow.
    await page.focus('#approve-0');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'deny-0');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#bc-denied');
  });
  const denied = await poll(body.auth_req_id);
  assert.deepEqual([denied.status, denied.body.error], [400, 'access_denied']);
});
