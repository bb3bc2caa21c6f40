// The device authorization grant (RFC 8628) in a real browser and with a
// client library nobody here wrote: headless Chromium (playwright-core)
// plays the user on the verification page; openid-client 6 plays the
// device (discovery, device authorization request, polling, ID Token
// validation, UserInfo). Started by tests/e2e/browser.rs, which runs the
// app and passes its address, a public device client and a user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import * as client from 'openid-client';

const { ISSUER, DEVICE_CLIENT_ID, USERNAME, PASSWORD } = process.env;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

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
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: await response.json() };
}

const startFlow = () =>
  form('/device_authorization', { client_id: DEVICE_CLIENT_ID, scope: 'openid profile' });
const poll = (deviceCode) =>
  form('/token', { grant_type: DEVICE_GRANT, client_id: DEVICE_CLIENT_ID, device_code: deviceCode });

async function signIn(page) {
  assert.match(await page.title(), /^Sign in/);
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.click('#sign-in');
}

test('enter the code, sign in, approve: the device gets tokens', async () => {
  const started = await startFlow();
  assert.equal(started.status, 200);
  const { device_code, user_code, verification_uri } = started.body;
  assert.equal((await poll(device_code)).body.error, 'authorization_pending');
  await withPage(async (page) => {
    await page.goto(verification_uri);
    await signIn(page);
    // Back on the verification page: type the code as a person might.
    const input = page.getByLabel('Code shown on your device');
    await input.fill(user_code.toLowerCase().replace('-', ' '));
    await page.click('#continue');
    await page.waitForSelector('#approve');
    assert.equal(await page.textContent('#device-user-code'), user_code);
    assert.match(await page.textContent('#device-scopes'), /identity/);
    const qr = await page.waitForSelector('svg#device-qr');
    assert.equal(await qr.getAttribute('role'), 'img');
    const box = await qr.boundingBox();
    assert.ok(box.width >= 100 && box.height >= 100, 'the QR code is drawn');
    await page.click('#approve');
    await page.waitForSelector('#device-approved');
  });
  const tokens = await poll(device_code);
  assert.equal(tokens.status, 200);
  assert.ok(tokens.body.access_token && tokens.body.id_token);
  assert.equal((await poll(device_code)).body.error, 'invalid_grant', 'redeemed once');
});

test('a wrong code shows an error; the complete URI pre-fills; deny', async () => {
  const { body } = await startFlow();
  await withPage(async (page) => {
    await page.goto(`${ISSUER}/device`);
    await signIn(page);
    await page.getByLabel('Code shown on your device').fill('BBBB-BBBB');
    await page.click('#continue');
    const error = await page.waitForSelector('#device-error');
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.equal(await page.getAttribute('#user-code', 'aria-invalid'), 'true');
    // Opened from verification_uri_complete: shown for confirmation.
    await page.goto(body.verification_uri_complete);
    assert.equal(await page.textContent('#device-user-code'), body.user_code);
    // Keyboard only: Deny is the next button after Allow.
    await page.focus('#approve');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'deny');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#device-denied');
  });
  const denied = await poll(body.device_code);
  assert.deepEqual([denied.status, denied.body.error], [400, 'access_denied']);
});

test('openid-client drives the device flow end to end', async () => {
  const config = await client.discovery(new URL(ISSUER), DEVICE_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
  assert.equal(config.serverMetadata().device_authorization_endpoint, `${ISSUER}/device_authorization`);
  assert.ok(config.serverMetadata().grant_types_supported.includes(DEVICE_GRANT));
  const response = await client.initiateDeviceAuthorization(config, { scope: 'openid profile email' });
  assert.match(response.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  // The library polls (honouring `interval`) while the user approves.
  const polling = client.pollDeviceAuthorizationGrant(config, response);
  await withPage(async (page) => {
    await page.goto(response.verification_uri_complete);
    await signIn(page);
    await page.click('#approve');
    await page.waitForSelector('#device-approved');
  });
  const tokens = await polling;
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.aud, DEVICE_CLIENT_ID);
  assert.ok(claims.sub && claims.auth_time);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(info.email, 'carol@example.com');
});
