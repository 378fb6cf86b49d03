/**
 * The server versions the native infrastructure runs. The Maven `pom.xml` files under
 * `deploy/infra/maven/` pin the same numbers; the jar cache key includes the pom's hash.
 */
export const KAFKA_VERSION = '4.1.1';
/** Apache Cassandra, from `org.apache.cassandra:cassandra-all`. */
export const CASSANDRA_VERSION = '5.0.6';
/** The Redis major version expected from Debian's `redis-server` (the real one is read from INFO). */
export const REDIS_EXPECTED_MAJOR = 7;
/** versitygw, the S3 server of tests and the local stack, built with `go install` from the Go module proxy. */
export const VERSITYGW_VERSION = 'v1.8.0';
export const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw';
