import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomKeyspaceName, startStackServers, type StackServers } from '@chatmesh/testing';
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';
import { runCutConversation } from './helpers/cut-conversation.js';

let servers: StackServers;
let system: ChatmeshSystem;

before(async () => {
  servers = await startStackServers();
  system = await startChatmeshSystem({
    stack: servers.endpoints(randomKeyspaceName('sdk')),
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
  await servers?.stop();
});

test('SDK on the gateway over Kafka, Cassandra and Redis: connections cut mid-stream: nothing lost, nothing twice, order kept', async (t) => {
  const result = await runCutConversation(system, {
    messagesPerUser: 100,
    inFlight: 8,
    cutEveryAcks: 15,
    progress: (line) => process.stderr.write(`[sdk-gateway] ${line}\n`),
    settleTimeoutMs: 180_000,
  });
  t.diagnostic(
    `connections cut by the proxy: ${result.cuts}, sockets terminated: ${result.terminations}, reconnects: ${result.reconnects}`,
  );
  assert.ok(result.cuts + result.terminations >= 3, `connections were cut (${JSON.stringify(result)})`);
});

test('SDK over Kafka, Cassandra and Redis, a broadcast chat (big group): connections cut mid-stream: nothing lost, nothing twice, order kept', async (t) => {
  const result = await runCutConversation(system, {
    messagesPerUser: 60,
    inFlight: 8,
    cutEveryAcks: 15,
    progress: (line) => process.stderr.write(`[sdk-gateway broadcast] ${line}\n`),
    settleTimeoutMs: 180_000,
    groupExtraMembers: 1,
    expectBroadcast: true,
  });
  t.diagnostic(
    `connections cut by the proxy: ${result.cuts}, sockets terminated: ${result.terminations}, reconnects: ${result.reconnects}`,
  );
  assert.ok(result.cuts + result.terminations >= 3, `connections were cut (${JSON.stringify(result)})`);
});
