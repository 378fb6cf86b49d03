import { randomUUID } from 'node:crypto';

import { createMigratedCassandraStore } from '@chatmesh/store';
import { randomKeyspaceName, startCassandra, startS3 } from '@chatmesh/testing';

import { createS3ObjectStore } from '../index.js';
import { runAttachmentSuite } from './attachment-suite.js';

runAttachmentSuite('versitygw (S3 API) + Cassandra', async () => {
  const [s3, cassandra] = [await startS3(), await startCassandra()];
  const objects = await createS3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    // A bucket of this run's own.
    bucket: `test-${randomUUID().slice(0, 8)}`,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    createBucket: true,
  });
  const store = await createMigratedCassandraStore({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace: randomKeyspaceName('attachments'),
  });
  return {
    objects,
    store,
    async perform(request, body) {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      return { status: response.status, etag: response.headers.get('etag') ?? undefined, body: bytes };
    },
    async close() {
      await objects.close();
      await store.close();
      await Promise.all([s3.stop(), cassandra.stop()]);
    },
  };
});
