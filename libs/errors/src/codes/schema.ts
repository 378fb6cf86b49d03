import { defineCodes } from './types.js';

/** Codes of the Avro schemas, the Confluent-framed codec and the project's schema registry. */
export const SCHEMA_CODES = defineCodes({
  CM_ERR_SCHEMA_ENCODE: {
    message: 'A value does not match the Avro schema of its subject.',
    retriable: false,
    fix: 'Read `context.paths` for the offending fields and build the value as the generated type of the subject says.',
  },
  CM_ERR_SCHEMA_DECODE: {
    message:
      'Bytes are not a Confluent-framed Avro record this codec can read (bad magic byte, short buffer, unknown schema id or corrupt body).',
    retriable: false,
    fix: 'The record is poison: it goes to the dead-letter twin. Check what produced it (`context.reason`) and that producers use the same registry.',
  },
  CM_ERR_SCHEMA_UNKNOWN_SUBJECT: {
    message: 'No schema is known for this subject.',
    retriable: false,
    fix: 'Use a subject of the topic table (`<topic>-value`) or add the topic and its schema to @chatmesh/schemas.',
  },
  CM_ERR_SCHEMA_TOPIC_NAME_INVALID: {
    message: 'A topic name built from an id would be invalid or ambiguous.',
    retriable: false,
    fix: 'Use gateway ids of 1-100 characters from [A-Za-z0-9_-] (no dots).',
  },
  CM_ERR_SCHEMA_UNION_BRANCH: {
    message: 'A wrapped Avro union value does not hold exactly one branch its reader knows.',
    retriable: false,
    fix: 'Build union values as `{ "<record full name>": value }` with one key, as the generated type of the field says.',
  },
  CM_ERR_SCHEMA_INCOMPATIBLE: {
    message: 'A schema is not compatible with an earlier version under the compatibility level of its subject.',
    retriable: false,
    fix: 'Evolve the schema compatibly: add fields with defaults, never change a field type or remove a field without a default.',
  },
  CM_ERR_SCHEMA_INVALID: {
    message: 'A schema is not valid Avro.',
    retriable: false,
    fix: 'Fix the schema text (`context.reason` says what avsc refused).',
  },
  CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE: {
    message: 'The schema registry could not be reached or answered with a server error.',
    retriable: true,
    fix: 'Check SCHEMA_REGISTRY_URL and that the registry is up (`GET /subjects` answers 200 once it has caught up).',
  },
  CM_ERR_SCHEMA_REGISTRY_REJECTED: {
    message: 'The schema registry refused a request.',
    retriable: false,
    fix: 'Read `context.errorCode` (Confluent error code) and `context.status`; 409 means an incompatible schema.',
  },
  CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE: {
    message: 'The schema registry could not read or write its `_schemas` topic.',
    retriable: true,
    fix: 'Check KAFKA_BROKERS and that the broker is up; the registry answers 500 (50001/50002) until it can.',
  },
  CM_ERR_SCHEMA_REGISTRY_CONFIG_INVALID: {
    message: 'The schema registry was started with invalid settings.',
    retriable: false,
    fix: 'Set KAFKA_BROKERS to a comma list of host:port and SCHEMA_REGISTRY_PORT to a number between 0 and 65535.',
  },
});
