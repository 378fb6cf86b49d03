import { defineCodes } from './types.js';

/** Codes of @chatmesh/runtime: service lifecycle, typed topics and the ops server. */
export const RUNTIME_CODES = defineCodes({
  CM_ERR_RUNTIME_EMPTY_RECORD: {
    message: 'A typed topic carried a record with no value (null), which no schema can decode.',
    retriable: false,
    fix: 'Find the producer that wrote a null value to a non-compacted topic; the record is in the dead-letter twin.',
  },
  CM_ERR_RUNTIME_SERVICE_START_FAILED: {
    message: 'A service failed to start; the services already started were stopped again.',
    retriable: false,
    fix: 'Read `cause` and the service name in the context; usually a dependency (Kafka, registry) is unreachable.',
  },
  CM_ERR_RUNTIME_DUPLICATE_SERVICE: {
    message: 'The same service name was given twice to one runtime.',
    retriable: false,
    fix: 'List each service once in CHATMESH_SERVICES.',
  },
  CM_ERR_RUNTIME_SHUTDOWN_TIMEOUT: {
    message: 'Graceful shutdown did not finish within its time limit, so the process was forced to exit.',
    retriable: false,
    fix: 'Look for a handler that ignores its abort signal; raise CHATMESH_SHUTDOWN_TIMEOUT_MS only if draining is merely slow.',
  },
});
