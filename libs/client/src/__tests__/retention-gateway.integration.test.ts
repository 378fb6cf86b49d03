/**
 * Retention end to end on the real servers (Kafka, the schema registry, Cassandra with an inbox TTL of a few
 * seconds, Redis): a device back after its inbox entries expired gets every message once, in order.
 */
import { after, before, test } from 'node:test';
import { randomKeyspaceName, startStackServers, type StackServers } from '@chatmesh/testing';
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';
import { runRetentionScenario } from './helpers/retention-scenario.js';

/** Long enough for the entry written after the wait to be read before it expires too. */
const INBOX_SECONDS = 6;
let servers: StackServers;
let system: ChatmeshSystem;
before(async () => {
  servers = await startStackServers();
  system = await startChatmeshSystem({
    stack: servers.endpoints(randomKeyspaceName('retention')),
    retention: { chatLogSeconds: 0, chatKeySeconds: 8 * 24 * 60 * 60, inboxSeconds: INBOX_SECONDS },
  });
});
after(async () => {
  await system?.close();
  await servers?.stop();
});

test('SDK over Kafka, Cassandra (inbox TTL of seconds) and Redis: expired inbox entries are named and filled from history', async () => {
  await runRetentionScenario(
    system,
    // Cassandra counts TTLs in whole seconds: past the TTL plus one second, every earlier inbox row is gone.
    () => new Promise((resolve) => setTimeout(resolve, (INBOX_SECONDS + 1) * 1000)),
  );
});
