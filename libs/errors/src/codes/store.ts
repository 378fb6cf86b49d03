import { defineCodes } from './types.js';

/** Codes of @chatmesh/store (Cassandra and its in-process twin). */
export const STORE_CODES = defineCodes({
  CM_ERR_STORE_UNAVAILABLE: {
    message: 'The store (Cassandra) cannot be reached.',
    retriable: true,
    fix: 'Check CASSANDRA_CONTACT_POINTS and that the cluster is up (`npm run infra -- status` locally).',
  },
  CM_ERR_STORE_CONTENTION: {
    message: 'A sequenced stream kept changing under its single writer.',
    retriable: true,
    fix: 'Two live writers own the same chat or user: check that the consumer group has one member per partition; the record is retried.',
  },
  CM_ERR_STORE_INVALID_ARGUMENT: {
    message: 'A store call was given arguments it cannot take (a programming error, never retried).',
    retriable: false,
    fix: 'Read the context: e.g. appendFencedBatch takes the entries of one stream only.',
  },
  CM_ERR_STORE_MIGRATION_FAILED: {
    message: 'A CQL migration statement failed.',
    retriable: false,
    fix: 'Read the cause and the statement in the context; fix the migration file or the cluster, then run `npm run migrate -w @chatmesh/store` again.',
  },
  CM_ERR_STORE_MIGRATION_CHANGED: {
    message: 'A migration that was already applied has been edited.',
    retriable: false,
    fix: 'Never edit an applied migration: restore the file and add a new NNNN_name.cql with the change.',
  },
});
