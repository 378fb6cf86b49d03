import { after, before } from 'node:test';
import { randomKeyspaceName, startStackServers, type StackServers } from '@chatmesh/testing';
import { defineAuthorizationSuite } from '../authorization-suite.js';
import { startStackExperience } from '../stack-experience.js';

let servers: StackServers;

before(async () => {
  servers = await startStackServers();
});

after(async () => {
  await servers?.stop();
});

// The same matrix where tokens come from an identity provider's JWKS (ES256) and every service is a process:
// the refusals must not depend on the mode (a forged token here is signed by another key under the same key id).
defineAuthorizationSuite({
  name: 'issue 15 authorization matrix (stack: Kafka, registry, Cassandra, Redis; every service a process)',
  createSystem: () => startStackExperience(servers.endpoints(randomKeyspaceName('authz'))),
});
