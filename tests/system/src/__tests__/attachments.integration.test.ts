import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import { createS3ObjectStore } from '@chatmesh/attachments';
import { randomKeyspaceName, startS3, startStackServers, type S3Server, type StackServers } from '@chatmesh/testing';

import { ATTACHMENT_TEST_ENV, defineAttachmentSuite } from '../attachment-suite.js';
import { startStackExperience } from '../stack-experience.js';

let servers: StackServers;
let s3: S3Server;
// A bucket of this run's own on the shared S3 server.
const bucket = `attachments-${randomUUID().slice(0, 8)}`;

before(async () => {
  servers = await startStackServers();
  s3 = await startS3();
});

after(async () => {
  await s3?.stop();
  await servers?.stop();
});

const s3Env = (): Record<string, string> => ({
  CHATMESH_ATTACHMENT_STORE: 's3',
  S3_ENDPOINT: s3.endpoint,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  S3_REGION: s3.region,
  S3_BUCKET: bucket,
});

defineAttachmentSuite({
  name: 'issue 17 attachments (stack: Kafka, registry, Cassandra, Redis, versitygw; every service a process)',
  createSystem: () =>
    startStackExperience(servers.endpoints(randomKeyspaceName('attachments')), {
      env: { ...ATTACHMENT_TEST_ENV, ...s3Env() },
    }),
  openObjects: () =>
    createS3ObjectStore({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      createBucket: true,
    }),
});
