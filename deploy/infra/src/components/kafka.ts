import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Kafka, logLevel } from 'kafkajs';

import { assembleJars } from '../internal/jars.js';
import { readFileHead } from '../internal/process.js';
import { renderTemplate } from '../internal/template.js';
import { KAFKA_VERSION } from '../versions.js';
import { childEnv, type ComponentDriver, type ComponentPaths, type HealthReport } from './component.js';
import { checkJava, javaBinary, runJavaTool } from './java.js';

/** The single-partition topic the readiness probe's consumer group subscribes to. */
export const KAFKA_PROBE_TOPIC = '_chatmesh_infra_probe';

/** How long one probe (connect, create the probe topic, join a group) may take. */
const PROBE_TIMEOUT_MS = 15_000;

/** Kafka 4.1 in KRaft mode, one combined broker + controller, from its Maven Central jars. */
export const kafkaDriver: ComponentDriver = {
  name: 'kafka',
  dependsOn: [],
  stopGraceMs: 30_000,
  ports: (options) => [options.ports.kafka, options.ports.kafkaController],
  address: (options) => `${options.host}:${options.ports.kafka}`,

  async prepare(options, paths) {
    await checkJava('kafka', options.env);
    const jarDir = await assembleJars({
      component: 'kafka',
      pomFile: join(options.repoRoot, 'deploy/infra/maven/kafka/pom.xml'),
      cacheDir: options.cacheDir,
      name: `kafka-${KAFKA_VERSION}`,
      log: options.log,
      env: options.env,
    });
    mkdirSync(paths.dataDir, { recursive: true });
    const propertiesFile = join(paths.dir, 'server.properties');
    writeFileSync(
      propertiesFile,
      renderTemplate(join(options.repoRoot, 'deploy/infra/conf/kafka-server.properties'), {
        HOST: options.host,
        BROKER_PORT: options.ports.kafka,
        CONTROLLER_PORT: options.ports.kafkaController,
        DATA_DIR: paths.dataDir,
      }),
    );
    // KRaft refuses to start on an unformatted log dir; format once, keep the data across restarts.
    if (!existsSync(join(paths.dataDir, 'meta.properties'))) {
      options.log(`kafka: formatting ${paths.dataDir}`);
      await runJavaTool('kafka', options.env, [
        '-Xmx256m',
        `-Dlog4j2.configurationFile=${join(options.repoRoot, 'deploy/infra/conf/kafka-log4j2.properties')}`,
        '-cp',
        `${jarDir}/*`,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        createKafkaClusterId(),
        '-c',
        propertiesFile,
      ]);
    }
    const heap = options.env.CHATMESH_INFRA_KAFKA_HEAP || '512m';
    return {
      command: javaBinary(options.env),
      args: [
        '-Xms256m',
        `-Xmx${heap}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:InitiatingHeapOccupancyPercent=35',
        '-XX:+ExplicitGCInvokesConcurrent',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${join(options.repoRoot, 'deploy/infra/conf/kafka-log4j2.properties')}`,
        '-cp',
        `${jarDir}/*`,
        'kafka.Kafka',
        propertiesFile,
      ],
      cwd: paths.dir,
      env: childEnv(options.env),
      logFile: paths.logFile,
    };
  },

  checkHealth: (options, paths) => probeKafka([`${options.host}:${options.ports.kafka}`], paths),
};

/**
 * A Kafka cluster id as `StorageTool random-uuid` makes one: 16 random bytes, URL-safe base64
 * without padding, never starting with `-` (Kafka's Uuid avoids ids that look like CLI flags).
 */
export function createKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Kafka readiness: a consumer group can join. An open port is not enough: right after start the
 * group coordinator answers COORDINATOR_LOAD_IN_PROGRESS / GROUP_COORDINATOR_NOT_AVAILABLE for a
 * while (see docs/infrastructure.md). The version comes from the broker's own start-up log
 * line (`Kafka version: ...`), since the Kafka protocol does not carry the server's version.
 */
export async function probeKafka(brokers: string[], paths?: ComponentPaths): Promise<HealthReport> {
  const kafka = new Kafka({
    clientId: 'chatmesh-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const groupId = `chatmesh-infra-probe-${randomUUID()}`;
  // A short fetch wait: disconnect() waits for the fetch in flight, which would add 5 s (the default) to each probe.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    retry: { retries: 0, restartOnFailure: async () => false },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const probe = (async (): Promise<HealthReport> => {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (!(await admin.listTopics()).includes(KAFKA_PROBE_TOPIC)) {
        try {
          await admin.createTopics({
            topics: [{ topic: KAFKA_PROBE_TOPIC, numPartitions: 1, replicationFactor: 1 }],
            waitForLeaders: true,
          });
        } catch (error) {
          if (!String((error as Error).message).includes('already exists')) throw error;
        }
      }
      await consumer.connect();
      const joined = new Promise<void>((resolvePromise, reject) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolvePromise());
        consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      });
      await consumer.subscribe({ topics: [KAFKA_PROBE_TOPIC], fromBeginning: false });
      await consumer.run({ eachMessage: async () => {} });
      await joined;
      return {
        healthy: true,
        version: paths === undefined ? undefined : readKafkaVersionFromLog(paths.logFile),
        detail: `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`,
      };
    })();
    const timeout = new Promise<HealthReport>((resolvePromise) => {
      timer = setTimeout(
        () => resolvePromise({ healthy: false, detail: `probe group did not join within ${PROBE_TIMEOUT_MS} ms` }),
        PROBE_TIMEOUT_MS,
      );
    });
    return await Promise.race([probe, timeout]);
  } catch (error) {
    return { healthy: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    // The probe group is empty now; delete it so probes leave no trace in `kafka-consumer-groups --list`.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/** The `Kafka version: X` line the broker logged at start (logs are per run), or undefined. */
export function readKafkaVersionFromLog(logFile: string): string | undefined {
  return /Kafka version: (\S+)/.exec(readFileHead(logFile))?.[1];
}
