import { defineCodes } from './types.js';

/** Codes of @chatmesh/infra and @chatmesh/testing: the real servers could not be installed, started or reached. */
export const INFRA_CODES = defineCodes({
  CM_ERR_INFRA_OPTIONS_INVALID: {
    message: 'The infrastructure options or environment variables are invalid.',
    retriable: false,
    fix: 'Read the listed problems (component names are kafka, cassandra, redis, schema-registry; ports are integers 1-65535). See docs/infrastructure.md.',
  },
  CM_ERR_INFRA_TOOL_MISSING: {
    message: 'A program the native infrastructure needs (java, mvn or redis-server) is not installed.',
    retriable: false,
    fix: 'Install it: `apt-get install -y openjdk-17-jdk-headless maven` for Kafka and Cassandra, `apt-get update && apt-get install -y redis-server` for Redis; or set JAVA_HOME.',
  },
  CM_ERR_INFRA_DOWNLOAD_FAILED: {
    message: 'Maven could not resolve the jars of a server from Maven Central.',
    retriable: true,
    fix: 'Check that Maven Central (or your mirror in ~/.m2/settings.xml) is reachable; the Maven output is in the error context.',
  },
  CM_ERR_INFRA_PORT_IN_USE: {
    message: 'A port the infrastructure wants is already taken by a process it did not start.',
    retriable: false,
    fix: 'Stop that process, or move the component with its CHATMESH_INFRA_*_PORT variable, or point the tests at it with KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS / REDIS_URL / SCHEMA_REGISTRY_URL.',
  },
  CM_ERR_INFRA_START_FAILED: {
    message: 'A server process exited while it was starting.',
    retriable: false,
    fix: 'Read the log tail in the error (and the full log under .infra/<component>/); `npm run infra -- down --wipe` clears corrupt data.',
  },
  CM_ERR_INFRA_NOT_READY: {
    message: 'A server did not pass its health check within the time limit.',
    retriable: true,
    fix: 'The machine may be overloaded: retry, or raise CHATMESH_INFRA_READY_TIMEOUT_MS; read the component log under .infra/<component>/.',
  },
  CM_ERR_INFRA_STOP_FAILED: {
    message: 'A server process did not exit even after SIGKILL.',
    retriable: true,
    fix: 'Check the pid printed in the error with `ps`; a process stuck in uninterruptible I/O exits once the I/O completes.',
  },
  CM_ERR_INFRA_LOCKED: {
    message: 'Another infra command kept the state directory locked for too long.',
    retriable: true,
    fix: 'Wait for the other `npm run infra` or test run to finish; if none runs, delete the lock file named in the error.',
  },
  CM_ERR_INFRA_COMPONENT_MISSING: {
    message: 'The source of a component the infrastructure should start is not in the repository.',
    retriable: false,
    fix: 'Check out the complete repository, or leave the component out with `--only kafka,cassandra,redis`.',
  },
  CM_ERR_TESTING_WAIT_TIMEOUT: {
    message: 'A condition a test waited for did not become true in time.',
    retriable: false,
    fix: 'The description in the message says what was awaited; check the component under test, or raise timeoutMs if it is merely slow.',
  },
  CM_ERR_TESTING_NO_SERVER: {
    message: 'No real server could be provided to the tests.',
    retriable: false,
    fix: 'Set its endpoint (KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, REDIS_URL, SCHEMA_REGISTRY_URL), start a Docker engine, or run `npm run infra -- up`; `npm test` does the last by itself.',
  },
  CM_ERR_TESTING_ENDPOINT_INVALID: {
    message: 'An endpoint given in the environment for the tests is malformed.',
    retriable: false,
    fix: 'Use host:port lists for KAFKA_BROKERS and CASSANDRA_CONTACT_POINTS, redis://host:port for REDIS_URL and http://host:port for SCHEMA_REGISTRY_URL.',
  },
});
