/**
 * The chat page in real headless Chromium (Debian's `chromium`, driven by playwright-core) against
 * embedded chatmesh (ingest + fan-out + receipts + presence + push + gateway): two users sign in, create a
 * direct chat and a group, and chat both ways; ticks go to read when the other opens the chat, the
 * typing line and online state show up. Fails (never skips) when Chromium is missing: CI installs it (`apt-get install -y chromium`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createChatClient, type ChatClient } from '@chatmesh/client';
import { randomName } from '@chatmesh/testing';
import WebSocket from 'ws';
import { startEmbeddedChatmesh, type EmbeddedChatmesh } from './helpers/embedded-chatmesh.js';

const CHROMIUM = process.env['CHATMESH_CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../screenshots/', import.meta.url));
const STEP_TIMEOUT_MS = 20_000;

let system: EmbeddedChatmesh;
let browser: Browser;

// playwright-core launches Chromium with a fresh temporary profile (its own --user-data-dir) and removes it on close.
before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is missing at ${CHROMIUM}: install Debian's chromium (apt-get update && apt-get install -y chromium) ` +
      'or point CHATMESH_CHROMIUM_PATH at a Chromium binary. This test does not skip.',
  );
  system = await startEmbeddedChatmesh();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await system?.close();
});

const userName = (prefix: string): string =>
  randomName(prefix)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 40);

async function signIn(page: Page, user: string, device: string): Promise<void> {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(system.url);
  await page.getByTestId('user').fill(user);
  await page.getByTestId('device').fill(device);
  await page.getByTestId('connect').click();
  await page
    .getByTestId('status')
    .filter({ hasText: 'online' })
    .waitFor({ timeout: STEP_TIMEOUT_MS })
    .catch((error: Error) => {
      throw new Error(`${user} did not get online: ${error.message}; page errors: ${problems.join('; ') || 'none'}`);
    });
}

/** The chat list entry whose name is exactly `name`. */
function chatItem(page: Page, name: string) {
  return page.getByTestId('chat-item').filter({ has: page.getByTestId('chat-name').getByText(name, { exact: true }) });
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('send').click();
}

async function expectMessage(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-body').filter({ hasText: text }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
}

test('two users chat in the page, in a direct chat and a group, both ways, live', async () => {
  const alice = userName('alice');
  const bob = userName('bob');
  const alicePage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  const bobPage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  await signIn(alicePage, alice, 'laptop');
  await signIn(bobPage, bob, 'phone');

  // Direct chat: alice creates it by bob's name and writes first.
  await alicePage.getByTestId('members').fill(bob);
  await alicePage.getByTestId('create-chat').click();
  await alicePage.getByTestId('chat-title').filter({ hasText: bob }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(alicePage, 'Hi Bob, this is Alice');
  await expectMessage(alicePage, 'Hi Bob, this is Alice');
  // Acked by the server: one tick.
  await alicePage.getByTestId('ticks').filter({ hasText: '✓' }).first().waitFor({ timeout: STEP_TIMEOUT_MS });

  // Bob is online: alice's header says so (presence of the open chat's other member).
  await alicePage.getByTestId('chat-sub').filter({ hasText: 'online' }).waitFor({ timeout: STEP_TIMEOUT_MS });

  await chatItem(bobPage, alice).click({ timeout: STEP_TIMEOUT_MS });
  await expectMessage(bobPage, 'Hi Bob, this is Alice');
  // Bob has the chat open, so it is read: alice's ticks turn blue (read).
  await alicePage.locator('[data-testid="ticks"].read').first().waitFor({ timeout: STEP_TIMEOUT_MS });

  // Bob types: alice sees the typing line; once he sends, it goes away.
  await bobPage.getByTestId('message-input').pressSequentially('Hel', { delay: 20 });
  await alicePage
    .getByTestId('typing')
    .filter({ hasText: `${bob} is typing…` })
    .waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(bobPage, 'Hello Alice! Got it.');
  await alicePage.waitForFunction(() => document.querySelector('[data-testid="typing"]')?.textContent === '', null, {
    timeout: STEP_TIMEOUT_MS,
  });
  await expectMessage(alicePage, 'Hello Alice! Got it.');
  await send(alicePage, 'Great, the page works');
  await expectMessage(bobPage, 'Great, the page works');

  // A group, by member names.
  await bobPage.getByTestId('members').fill(alice);
  await bobPage.getByTestId('group-name').fill('Weekend plans');
  await bobPage.getByTestId('create-chat').click();
  await bobPage.getByTestId('chat-title').filter({ hasText: 'Weekend plans' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(bobPage, 'Hiking on Saturday?');
  await chatItem(alicePage, 'Weekend plans').click({ timeout: STEP_TIMEOUT_MS });
  await expectMessage(alicePage, 'Hiking on Saturday?');
  await send(alicePage, 'Count me in');
  await expectMessage(bobPage, 'Count me in');

  // Each page lists both chats, and the direct chat holds the three messages in order.
  assert.equal(await alicePage.getByTestId('chat-item').count(), 2);
  assert.equal(await bobPage.getByTestId('chat-item').count(), 2);
  await chatItem(bobPage, alice).click();
  await expectMessage(bobPage, 'Great, the page works');
  assert.deepEqual(await bobPage.getByTestId('message-body').allTextContents(), [
    'Hi Bob, this is Alice',
    'Hello Alice! Got it.',
    'Great, the page works',
  ]);

  mkdirSync(SCREENSHOTS, { recursive: true });
  await alicePage.screenshot({ path: join(SCREENSHOTS, 'alice-group.png') });
  await bobPage.screenshot({ path: join(SCREENSHOTS, 'bob-direct.png') });

  // Push: bob's phone goes offline; alice's next message wakes it through the local push inbox, which bob sees
  // from his tablet (the chat and the badge, no content).
  await bobPage.context().close();
  await chatItem(alicePage, bob).click();
  // Once alice sees him offline, fan-out routes her message to push.
  await alicePage.getByTestId('chat-sub').filter({ hasText: 'last seen' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(alicePage, 'Are you there?');
  const tabletPage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  await signIn(tabletPage, bob, 'tablet');
  await tabletPage.getByTestId('wake-up').filter({ hasText: 'phone:' }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
  const wakeUp = (await tabletPage.getByTestId('wake-up').first().textContent()) ?? '';
  assert.match(wakeUp, /badge 1/);
  assert.doesNotMatch(wakeUp, /Are you there/, 'no message content');
  await tabletPage.screenshot({ path: join(SCREENSHOTS, 'bob-push-inbox.png') });
});

test('an image attached in one window shows as a thumbnail in the other, and opens in the viewer', async () => {
  const alice = userName('alice');
  const bob = userName('bob');
  const alicePage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  const bobPage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  await signIn(alicePage, alice, 'laptop');
  await signIn(bobPage, bob, 'phone');
  await alicePage.getByTestId('members').fill(bob);
  await alicePage.getByTestId('create-chat').click();
  await alicePage.getByTestId('chat-title').filter({ hasText: bob }).waitFor({ timeout: STEP_TIMEOUT_MS });

  // A 2x2 PNG: uploaded by reference (upload request, PUT with a progress bar, then a message with the reference).
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==',
    'base64',
  );
  await alicePage.getByTestId('file-input').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
  const ownThumb = alicePage.getByTestId('attachment-image').first();
  await ownThumb.waitFor({ timeout: STEP_TIMEOUT_MS });
  await alicePage.getByTestId('ticks').filter({ hasText: '✓' }).first().waitFor({ timeout: STEP_TIMEOUT_MS });

  await chatItem(bobPage, alice).click({ timeout: STEP_TIMEOUT_MS });
  const thumb = bobPage.getByTestId('attachment-image').first();
  await thumb.waitFor({ timeout: STEP_TIMEOUT_MS });
  // Loaded through the presigned download URL: the browser decoded the image.
  await bobPage.waitForFunction(
    () => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="attachment-image"]');
      return img !== null && img.complete && img.naturalWidth === 2;
    },
    null,
    { timeout: STEP_TIMEOUT_MS },
  );
  assert.match((await thumb.getAttribute('src')) ?? '', /\/v1\/blobs\/att\//);
  await thumb.click();
  await bobPage.getByTestId('viewer').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  assert.equal(await bobPage.getByTestId('viewer-image').getAttribute('alt'), 'dot.png');
  mkdirSync(SCREENSHOTS, { recursive: true });
  await bobPage.screenshot({ path: join(SCREENSHOTS, 'bob-attachment.png') });
});

/** A user outside the browser: the SDK in Node on `ws`, with a development token from the same server. */
function sdkUser(userId: string, deviceId: string): ChatClient {
  return createChatClient({
    url: system.url,
    deviceId,
    webSocketFactory: (url) => new WebSocket(url),
    tokenProvider: async () => {
      const response = await fetch(`${system.url}/v1/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, deviceId }),
      });
      return ((await response.json()) as { token: string }).token;
    },
  });
}

test('unread badges count every message, a burst of 40 arrives in order with none stuck, a reload keeps the session, a refused message fails and a retry sends it once', async () => {
  const alice = userName('alice');
  const bob = userName('bob');
  const carol = userName('carol');
  // A short pending limit: a message unacknowledged for 3 s shows "!" with Retry.
  const pageUrl = `${system.url}/?pendingTimeoutMs=3000`;
  const alicePage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  const bobPage = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  await signIn(alicePage, alice, 'laptop');
  await signIn(bobPage, bob, 'phone');
  await alicePage.goto(pageUrl);
  await alicePage.getByTestId('status').filter({ hasText: 'online' }).waitFor({ timeout: STEP_TIMEOUT_MS });

  // Unread: bob has not opened the chat, so every message counts, the first one included.
  await alicePage.getByTestId('members').fill(bob);
  await alicePage.getByTestId('create-chat').click();
  await alicePage.getByTestId('chat-title').filter({ hasText: bob }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(alicePage, 'first');
  await chatItem(bobPage, alice).locator('.badge').filter({ hasText: /^1$/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await send(alicePage, 'second\non two lines');
  await chatItem(bobPage, alice).locator('.badge').filter({ hasText: /^2$/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await chatItem(bobPage, alice).click();
  assert.equal(await chatItem(bobPage, alice).locator('.badge').count(), 0, 'opening the chat clears the badge');
  await expectMessage(bobPage, 'on two lines');
  assert.equal(await bobPage.getByTestId('day-separator').first().textContent(), 'Today');

  // A burst of 40 sends at once (Enter in the composer, as fast as the page can): all arrive, in order, none stuck.
  await alicePage.evaluate(() => {
    const input = document.querySelector<HTMLTextAreaElement>('[data-testid="message-input"]')!;
    for (let i = 1; i <= 40; i++) {
      input.value = `burst ${i}`;
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    }
  });
  await expectMessage(bobPage, 'burst 40');
  const burst = (await bobPage.getByTestId('message-body').allTextContents()).filter((t) => t.startsWith('burst '));
  assert.deepEqual(
    burst,
    Array.from({ length: 40 }, (_, i) => `burst ${i + 1}`),
  );
  await alicePage.waitForFunction(
    () =>
      document.querySelectorAll('[data-testid="ticks"].pending, [data-testid="ticks"].failed').length === 0 &&
      document.querySelectorAll('[data-testid="message"]').length === 42,
    null,
    { timeout: STEP_TIMEOUT_MS },
  );

  // A reload resumes the session: no sign-in form, the chat and its messages are there.
  await alicePage.reload();
  await alicePage.getByTestId('status').filter({ hasText: 'online' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  assert.equal(await alicePage.getByTestId('login').isHidden(), true);
  await chatItem(alicePage, bob).click({ timeout: STEP_TIMEOUT_MS });
  await expectMessage(alicePage, 'burst 40');

  // Refused, then retried: carol (the SDK) makes a group with alice and removes her; alice's message is refused
  // ("!" and Retry); carol adds her back and the retry sends it, once.
  const carolClient = sdkUser(carol, 'desk');
  try {
    const group = await carolClient.createGroup('Retry club', [alice]);
    await chatItem(alicePage, 'Retry club').click({ timeout: STEP_TIMEOUT_MS });
    await carolClient.removeMembers(group.chatId, [alice]);
    await alicePage
      .getByTestId('messages')
      .filter({ hasText: `${alice} removed` })
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await send(alicePage, 'let me back in');
    await alicePage.getByTestId('retry').waitFor({ timeout: STEP_TIMEOUT_MS });
    await carolClient.addMembers(group.chatId, [alice]);
    const received: string[] = [];
    carolClient.on('messageReceived', (f) => {
      if (f.chatId === group.chatId && f.body !== null) received.push(f.body);
    });
    await alicePage.getByTestId('retry').click();
    await alicePage
      .locator('[data-testid="message"]', { hasText: 'let me back in' })
      .locator('[data-testid="ticks"].sent, [data-testid="ticks"].delivered, [data-testid="ticks"].read')
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.equal(await alicePage.getByTestId('retry').count(), 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(received, ['let me back in']);
  } finally {
    await carolClient.close();
  }
});
