import { MEMORY_BUS_DEFAULTS } from '@chatmesh/bus';
import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/** Variables of `npm start` (embedded mode's own section, `config.sections.embedded`). */
export const EMBEDDED_CONFIG = defineConfigSection({
  description:
    "Read by `npm start` only: the in-process bus's retention, which bounds embedded mode's memory like Kafka's `retention.bytes` and `retention.ms` (a consumer that falls behind is reset by its offset reset policy).",
  variables: {
    busRetentionBytes: defineVariable({
      env: 'CHATMESH_EMBEDDED_BUS_RETENTION_BYTES',
      description:
        'Bytes of records (keys, values, headers) the in-process bus keeps per topic partition; the oldest records are dropped past it.',
      schema: parsers.integer(1024, 16 * 1024 * 1024 * 1024),
      noun: 'size',
      expected: 'an integer number of bytes, 1024-17179869184',
      default: MEMORY_BUS_DEFAULTS.retention.maxBytes,
    }),
    busRetentionMs: defineVariable({
      env: 'CHATMESH_EMBEDDED_BUS_RETENTION_MS',
      description:
        'How long the in-process bus keeps a record (dropped at the next append to its partition after that).',
      schema: parsers.integer(1000, 30 * 24 * 60 * 60 * 1000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 1000-2592000000',
      default: MEMORY_BUS_DEFAULTS.retention.maxAgeMs,
    }),
  },
});
