import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';
import { runCutConversation } from './helpers/cut-conversation.js';

let system: ChatmeshSystem;

before(async () => {
  // Generous rate limits: this test is about cuts, not throttling.
  system = await startChatmeshSystem({
    // The conversation is about cuts, not limits: neither the gateway's nor ingest's send limits may refuse it.
    env: {
      CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '10000',
      CHATMESH_GATEWAY_USER_BURST: '10000',
      CHATMESH_INGEST_SEND_RATE_PER_SECOND: '10000',
      CHATMESH_INGEST_SEND_BURST: '10000',
      // Groups of three or more are broadcast chats (big groups) here; the direct chat is not one.
      CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '3',
    },
  });
});
after(async () => {
  await system?.close();
});

test('SDK on the embedded gateway: two users, connections cut mid-stream: nothing lost, nothing twice, order kept', async (t) => {
  const result = await runCutConversation(system, {
    messagesPerUser: 150,
    inFlight: 8,
    cutEveryAcks: 10,
    settleTimeoutMs: 60_000,
  });
  t.diagnostic(
    `connections cut by the proxy: ${result.cuts}, sockets terminated: ${result.terminations}, reconnects: ${result.reconnects}`,
  );
  assert.ok(result.cuts + result.terminations >= 3, `connections were cut (${JSON.stringify(result)})`);
  assert.ok(result.reconnects >= 3, `clients reconnected (${JSON.stringify(result)})`);
});

test('SDK on the embedded gateway, a broadcast chat (big group): connections cut mid-stream: nothing lost, nothing twice, order kept', async (t) => {
  const result = await runCutConversation(system, {
    messagesPerUser: 150,
    inFlight: 8,
    cutEveryAcks: 10,
    settleTimeoutMs: 60_000,
    groupExtraMembers: 1,
    expectBroadcast: true,
  });
  t.diagnostic(
    `connections cut by the proxy: ${result.cuts}, sockets terminated: ${result.terminations}, reconnects: ${result.reconnects}`,
  );
  assert.ok(result.cuts + result.terminations >= 3, `connections were cut (${JSON.stringify(result)})`);
  assert.ok(result.reconnects >= 3, `clients reconnected (${JSON.stringify(result)})`);
});
