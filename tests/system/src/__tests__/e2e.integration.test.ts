import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import { randomKeyspaceName, startS3, startStackServers, type S3Server, type StackServers } from '@chatmesh/testing';

import { E2E_TEST_ENV, defineE2ESuite } from '../e2e-suite.js';
import { scanCassandra, scanKafka, scanObjectStore } from '../server-scan.js';
import { startStackExperience } from '../stack-experience.js';

let servers: StackServers;
let s3: S3Server;
// This run's own bucket, keyspace and Kafka namespace: the scan reads exactly what this stack wrote.
const bucket = `e2e-${randomUUID().slice(0, 8)}`;
let endpoints: ReturnType<StackServers['endpoints']>;

before(async () => {
  servers = await startStackServers();
  s3 = await startS3();
  endpoints = servers.endpoints(randomKeyspaceName('e2e'));
});

after(async () => {
  await s3?.stop();
  await servers?.stop();
});

defineE2ESuite({
  name: 'issue 18 end-to-end encryption (stack: Kafka, registry, Cassandra, Redis, versitygw; every service a process)',
  createSystem: () =>
    startStackExperience(endpoints, {
      env: {
        ...E2E_TEST_ENV,
        CHATMESH_ATTACHMENT_STORE: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_REGION: s3.region,
        S3_BUCKET: bucket,
      },
    }),
  scan: async (system, needles) => [
    ...(await scanKafka(system.bus, needles)),
    ...(await scanCassandra(
      {
        contactPoints: endpoints.cassandraContactPoints,
        localDataCenter: endpoints.cassandraLocalDc,
        keyspace: endpoints.keyspace,
      },
      needles,
    )),
    ...(await scanObjectStore(
      {
        endpoint: s3.endpoint,
        region: s3.region,
        bucket,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      needles,
    )),
  ],
});
