import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash as nodeCreateHash } from 'node:crypto';
import { directChatId } from '@chatmesh/protocol';
import { buildChatPage } from '../index.js';
import { createHash } from '../internal/node-crypto-shim.js';

test('buildChatPage bundles the page once into a browser script without Node imports', async () => {
  const first = await buildChatPage();
  assert.match(first.html, /<script type="module" src="\/app.js"><\/script>/);
  assert.match(first.html, /data-testid="login"/);
  assert.ok(first.js.length > 10_000, `a real bundle (${first.js.length} bytes)`);
  assert.doesNotMatch(first.js, /from\s*["']node:/);
  assert.doesNotMatch(first.js, /import\(["'](node:|ws["'])/);
  assert.equal(await buildChatPage(), first, 'cached after the first build');
});

test('the browser sha256 gives the same digests as node:crypto, so directChatId agrees in the page', () => {
  const inputs = [
    '',
    'abc',
    'a'.repeat(55),
    'b'.repeat(56),
    'c'.repeat(64),
    'héllo wörld ✓',
    '5:alice3:bob'.repeat(40),
  ];
  for (const input of inputs) {
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      assert.equal(
        createHash('sha256').update(input).digest(encoding),
        nodeCreateHash('sha256').update(input).digest(encoding),
        `${encoding} of ${JSON.stringify(input.slice(0, 20))}`,
      );
    }
  }
  const low = 'alice';
  const high = 'bob';
  const shimmed = `dm:${createHash('sha256').update(`${low.length}:${low}${high}`).digest('base64url').slice(0, 32)}`;
  assert.equal(shimmed, directChatId('bob', 'alice'));
});

test('the chat page says plainly that its chats are not end-to-end encrypted', async () => {
  const { html } = await buildChatPage();
  const notice = /<div class="not-e2e" data-testid="not-e2e"[^>]*>([^<]+)<\/div>/.exec(html);
  assert.ok(notice, 'the notice is on the page');
  assert.match(notice[1]!, /^Not end-to-end encrypted: .*server can read/);
});
