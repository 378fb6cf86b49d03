import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import cassandra from 'cassandra-driver';

import { assembleJars } from '../internal/jars.js';
import { readJvmOptionsFile, renderTemplate } from '../internal/template.js';
import { CASSANDRA_VERSION } from '../versions.js';
import { childEnv, type ComponentDriver, type HealthReport } from './component.js';
import { checkJava, javaBinary } from './java.js';

/** The data center of the native node (SimpleSnitch's only one); clients pass it as `localDataCenter`. */
export const CASSANDRA_LOCAL_DATA_CENTER = 'datacenter1';

/** Apache Cassandra 5.0, one node on loopback, from its Maven Central jars. */
export const cassandraDriver: ComponentDriver = {
  name: 'cassandra',
  dependsOn: [],
  // Cassandra drains (flushes memtables) on SIGTERM, which takes several seconds on a busy machine.
  stopGraceMs: 45_000,
  ports: (options) => [options.ports.cassandra, options.ports.cassandraStorage],
  address: (options) => `${options.host}:${options.ports.cassandra}`,

  async prepare(options, paths) {
    await checkJava('cassandra', options.env);
    const jarDir = await assembleJars({
      component: 'cassandra',
      pomFile: join(options.repoRoot, 'deploy/infra/maven/cassandra/pom.xml'),
      cacheDir: options.cacheDir,
      name: `cassandra-${CASSANDRA_VERSION}`,
      log: options.log,
      env: options.env,
    });
    mkdirSync(paths.dataDir, { recursive: true });
    // Cassandra warns every minute when its triggers directory is missing.
    mkdirSync(join(paths.dir, 'triggers'), { recursive: true });
    const yamlFile = join(paths.dir, 'cassandra.yaml');
    writeFileSync(
      yamlFile,
      renderTemplate(join(options.repoRoot, 'deploy/infra/conf/cassandra.yaml'), {
        HOST: options.host,
        STORAGE_PORT: options.ports.cassandraStorage,
        NATIVE_PORT: options.ports.cassandra,
      }),
    );
    const heap = options.env.CHATMESH_INFRA_CASSANDRA_HEAP || '1g';
    return {
      command: javaBinary(options.env),
      args: [
        '-Xms512m',
        `-Xmx${heap}`,
        ...readJvmOptionsFile(join(options.repoRoot, 'deploy/infra/conf/jvm17-server.options')),
        `-Dcassandra.config=file://${yamlFile}`,
        `-Dcassandra.storagedir=${paths.dataDir}`,
        `-Dcassandra.logdir=${paths.dir}`,
        `-Dcassandra.triggers_dir=${join(paths.dir, 'triggers')}`,
        `-Dlogback.configurationFile=${join(options.repoRoot, 'deploy/infra/conf/cassandra-logback.xml')}`,
        '-cp',
        `${jarDir}/*`,
        'org.apache.cassandra.service.CassandraDaemon',
      ],
      cwd: paths.dir,
      env: childEnv(options.env),
      logFile: paths.logFile,
    };
  },

  checkHealth: (options) => probeCassandra([`${options.host}:${options.ports.cassandra}`]),
};

/** Cassandra health: a CQL query answers, and says which release the node runs. */
export async function probeCassandra(
  contactPoints: string[],
  localDataCenter = CASSANDRA_LOCAL_DATA_CENTER,
): Promise<HealthReport> {
  const client = new cassandra.Client({
    contactPoints,
    localDataCenter,
    socketOptions: { connectTimeout: 3_000, readTimeout: 5_000 },
    // One attempt per probe: the caller's loop does the waiting.
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60_000) },
  });
  try {
    await client.connect();
    const result = await client.execute('SELECT release_version, data_center FROM system.local');
    const row = result.first();
    return {
      healthy: true,
      version: String(row.get('release_version')),
      detail: `data center ${String(row.get('data_center'))}`,
    };
  } catch (error) {
    return { healthy: false, detail: (error as Error).message };
  } finally {
    await client.shutdown().catch(() => {});
  }
}
