/**
 * `npm run stack`: each selected service as its own process (`node --import tsx services/<name>/src/main.ts`)
 * against the real servers named by the environment, each with its own ops port and its log under
 * `.stack/logs/<service>.log`. Ctrl-C or SIGTERM stops them all. Without the servers' endpoints it
 * explains how to start them (`npm run infra -- up`) and exits 2. It applies the Cassandra migrations
 * (`libs/store/migrations`) before starting the services.
 */
import { fileURLToPath } from 'node:url';
import { findUnknownVariables, loadConfig, SERVICE_NAMES } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { retentionOf, runMain } from '@chatmesh/runtime';
import { applyMigrations, createCassandraClient } from '@chatmesh/store';
import { spawnServiceProcess, stopServiceProcesses, waitForReady, type StackProcess } from './stack-processes.js';
import { CONFIG_SECTIONS } from './service-modules.js';

const ROOT_DIR = fileURLToPath(new URL('../../../', import.meta.url));
/** How long a service may take to answer `/ready` (tsx compiles on first start, and brokers may be warming up). */
const READY_TIMEOUT_MS = 120_000;

await runMain(async () => {
  const config = loadConfig({ env: { CHATMESH_MODE: 'stack', ...process.env }, sections: CONFIG_SECTIONS });
  const { basePort, logDir } = config.sections.stack;
  // Checked once here with every section (receipts' deadline included), before anything starts; each service
  // process checks it again with its own sections.
  retentionOf(config);
  const logger = createLogger({ service: 'launcher', level: config.logLevel, bindings: { mode: 'stack' } });
  const unknown = findUnknownVariables(process.env, CONFIG_SECTIONS);
  if (unknown.length > 0)
    logger.warn({ unknown }, 'ignoring unknown CHATMESH_ variables (typos?); see docs/configuration.md');

  // The schema is a file-based migration applied before any service connects (libs/store/migrations).
  const cassandra = createCassandraClient({
    contactPoints: config.cassandraContactPoints,
    localDataCenter: config.cassandraLocalDc,
  });
  try {
    const applied = await applyMigrations(cassandra, { keyspace: config.cassandraKeyspace });
    logger.info({ keyspace: config.cassandraKeyspace, applied }, 'Cassandra migrations applied');
  } finally {
    await cassandra.shutdown();
  }

  const processes: StackProcess[] = config.services.map((service) =>
    spawnServiceProcess({
      service,
      rootDir: ROOT_DIR,
      port: basePort + SERVICE_NAMES.indexOf(service),
      host: config.httpHost,
      logDir,
      env: process.env,
    }),
  );

  // Last resort when the launcher exits for another reason (an uncaught error): children are detached.
  process.on('exit', () => {
    for (const proc of processes)
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  });

  let stopping = false;
  const stopAll = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\nstopping every service (${reason})...\n`);
    const codes = await stopServiceProcesses(processes, config.shutdownTimeoutMs + 2_000);
    process.stdout.write(`stopped: ${JSON.stringify(codes)}\n`);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll(signal));

  let running = processes.length;
  for (const proc of processes) {
    void proc.exited.then((code) => {
      running -= 1;
      if (stopping) return;
      process.stdout.write(`! ${proc.service} exited (${code}); see ${proc.logFile}\n`);
      if (running === 0) {
        process.stdout.write('every service has exited; nothing left to run\n');
        process.exit(1);
      }
    });
  }

  process.stdout.write(
    [
      '',
      'chatmesh stack mode: one process per service, against',
      `  Kafka ${config.kafkaBrokers.join(',')}${config.namespace === '' ? '' : ` (namespace ${config.namespace})`}, registry ${config.schemaRegistryUrl}, Cassandra ${config.cassandraContactPoints.join(',')}, Redis ${config.redisUrl?.replace(/\/\/[^@/]*@/, '//***@')}`,
      ...processes.map((proc) => `  ${proc.service.padEnd(17)} ${proc.url}/ready   log: ${proc.logFile}`),
      'Ctrl-C stops them all.',
      '',
    ].join('\n'),
  );
  const ready = await Promise.all(processes.map((proc) => waitForReady(proc, READY_TIMEOUT_MS)));
  const notReady = processes.filter((_proc, index) => !ready[index]).map((proc) => proc.service);
  process.stdout.write(
    notReady.length === 0
      ? 'all services ready\n'
      : `not ready: ${notReady.join(', ')} (read their logs; the others keep running until Ctrl-C)\n`,
  );
});
