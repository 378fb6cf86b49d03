import { after, before } from 'node:test';
import { randomKeyspaceName, startStackServers, type StackServers } from '@chatmesh/testing';
import { defineGuaranteeSuite } from '../guarantee-suite.js';
import { startStackHarness } from '../stack-harness.js';

let servers: StackServers;

before(async () => {
  servers = await startStackServers();
});

after(async () => {
  await servers?.stop();
});

defineGuaranteeSuite({
  name: 'core message path guarantees (stack: Kafka, registry, Cassandra, Redis; ingest and fan-out as processes)',
  createHarness: () => startStackHarness(servers.endpoints(randomKeyspaceName('system'))),
  load: { chats: 20, minMembers: 3, maxMembers: 5, sends: 200, inFlight: 16 },
  // A killed service is back after its restart (a few seconds) plus the group's session timeout (10 s).
  retry: { ackTimeoutMs: 5_000, deadlineMs: 180_000 },
  settleTimeoutMs: 180_000,
});
