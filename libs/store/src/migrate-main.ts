/**
 * `npm run migrate -w @chatmesh/store`: applies the CQL migrations to the cluster named by
 * CASSANDRA_CONTACT_POINTS (default the native test node, 127.0.0.1:19042) and CASSANDRA_KEYSPACE
 * (default `chatmesh`). The stack mode runs it before starting the services.
 */
import { isChatmeshError } from '@chatmesh/errors';
import { applyMigrations, createCassandraClient } from './index.js';

const contactPoints = (process.env['CASSANDRA_CONTACT_POINTS'] ?? '127.0.0.1:19042').split(',').map((s) => s.trim());
const localDataCenter = process.env['CASSANDRA_LOCAL_DC'] ?? 'datacenter1';
const keyspace = process.env['CASSANDRA_KEYSPACE'] ?? 'chatmesh';
const client = createCassandraClient({ contactPoints, localDataCenter });
try {
  const applied = await applyMigrations(client, { keyspace });
  console.log(applied.length ? `applied migrations ${applied.join(', ')} to ${keyspace}` : `${keyspace} is up to date`);
} catch (error) {
  console.error(isChatmeshError(error) ? `${error.code}: ${error.message}` : String(error));
  process.exitCode = 1;
} finally {
  await client.shutdown();
}
