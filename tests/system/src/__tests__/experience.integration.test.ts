import { after, before } from 'node:test';
import { randomKeyspaceName, startStackServers, type StackServers } from '@chatmesh/testing';
import { defineExperienceSuite } from '../experience-suite.js';
import { startStackExperience } from '../stack-experience.js';

let servers: StackServers;

before(async () => {
  servers = await startStackServers();
});

after(async () => {
  await servers?.stop();
});

defineExperienceSuite({
  name: 'issue 7 experience (stack: Kafka, registry, Cassandra, Redis; every service a process; two gateways)',
  createSystem: () => startStackExperience(servers.endpoints(randomKeyspaceName('experience'))),
});
