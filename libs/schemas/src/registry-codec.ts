import { SchemaRegistry, SchemaType, type COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { SchemaDecodeError, SchemaRegistryError } from './errors.js';
import { createFramedCodec, type FramedSchemaCodec } from './internal/framed-codec.js';
import type { AvroSchemaJson } from './schema-files.js';

/** Options of {@link createRegistryCodec}. */
export interface RegistryCodecOptions {
  /** Base URL of a Confluent-compatible registry, e.g. `http://127.0.0.1:18081`. */
  readonly url: string;
  /** Sent in the User-Agent. @default 'chatmesh' */
  readonly clientId?: string;
  /** Retries of one HTTP request on 5xx answers (the client's own backoff). @default 3 */
  readonly retries?: number;
  /**
   * The level the client sets on subjects it creates, and expects on subjects that have one
   * (a different subject-level setting is refused with CM_ERR_SCHEMA_REGISTRY_REJECTED).
   * @default 'BACKWARD'
   */
  readonly compatibility?:
    'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';
}

/** Transport failures (mappersmith reports them as client errors, so they are told apart by text). */
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|socket hang up|timeout/i;

/**
 * The codec of stack and production mode, through `@kafkajs/confluent-schema-registry` against a
 * Confluent-compatible registry (Confluent's, Karapace, Apicurio's ccompat API, or
 * `@chatmesh/schema-registry`). `prepare` registers each subject's current schema from `schemas/`
 * (TopicNameStrategy, BACKWARD compatibility) and caches the ids; `decode` fetches an unknown writer
 * schema by id once and resolves it to the current schema of the same record.
 *
 * Errors: CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE (retriable) when the registry is down or answers 5xx,
 * CM_ERR_SCHEMA_INCOMPATIBLE when it refuses a schema with 409, CM_ERR_SCHEMA_REGISTRY_REJECTED for
 * other refusals, CM_ERR_SCHEMA_DECODE (`unknown-schema-id`) for an id it does not have.
 */
export function createRegistryCodec(options: RegistryCodecOptions): FramedSchemaCodec {
  const registry = new SchemaRegistry({
    host: options.url.replace(/\/+$/, ''),
    clientId: options.clientId ?? 'chatmesh',
    retry: { retries: options.retries ?? 3 },
  });
  return createFramedCodec('registry', {
    async register(subject, _fullName, schema) {
      try {
        const { id } = await registry.register(
          { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
          { subject, compatibility: (options.compatibility ?? 'BACKWARD') as COMPATIBILITY },
        );
        return id;
      } catch (cause) {
        throw toRegistryError(cause, `registering ${subject}`, { subject });
      }
    },
    async schemaById(id) {
      try {
        const type = (await registry.getSchema(id)) as avro.Type;
        return type.schema({ exportAttrs: true }) as AvroSchemaJson;
      } catch (cause) {
        if (statusOf(cause) === 404) {
          throw new SchemaDecodeError('unknown-schema-id', `the registry has no schema ${id}`, id, { cause });
        }
        throw toRegistryError(cause, `fetching schema ${id}`, { schemaId: id });
      }
    },
  });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function toRegistryError(cause: unknown, doing: string, context: Record<string, unknown>): SchemaRegistryError {
  const status = statusOf(cause);
  const message = `${doing}: ${(cause as Error | undefined)?.message ?? String(cause)}`;
  // The client refuses on its own (no HTTP status) when a subject's level differs from the one asked for.
  if ((cause as Error | undefined)?.name === 'ConfluentSchemaRegistryCompatibilityError') {
    return new SchemaRegistryError('CM_ERR_SCHEMA_REGISTRY_REJECTED', message, status, { cause, context });
  }
  if (status === undefined || status >= 500 || NETWORK_FAILURE.test(message)) {
    return new SchemaRegistryError('CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE', message, status, { cause, context });
  }
  if (status === 409) return new SchemaRegistryError('CM_ERR_SCHEMA_INCOMPATIBLE', message, status, { cause, context });
  return new SchemaRegistryError('CM_ERR_SCHEMA_REGISTRY_REJECTED', message, status, { cause, context });
}
