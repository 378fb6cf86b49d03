import { createFramedCodec, type FramedSchemaCodec } from './internal/framed-codec.js';
import { SchemaDecodeError } from './errors.js';
import { LocalSchemaRegistry } from './local-schema-registry.js';
import { schemaVersionsOf } from './schema-catalog.js';

/** Options of {@link createLocalCodec}. */
export interface LocalCodecOptions {
  /** Share one registry between codecs; ids are deterministic either way. @default a new LocalSchemaRegistry */
  readonly registry?: LocalSchemaRegistry;
}

/**
 * The codec of embedded mode: the same Confluent framing as {@link createRegistryCodec}, with an
 * in-process {@link LocalSchemaRegistry} and no HTTP. Preparing a subject registers its whole history
 * from `schemas/` (v1..vN), so the subject's versions mirror the files and old ids stay readable.
 */
export function createLocalCodec(options: LocalCodecOptions = {}): FramedSchemaCodec {
  const registry = options.registry ?? new LocalSchemaRegistry();
  return createFramedCodec('local', {
    async register(subject, fullName) {
      let id = 0;
      for (const version of schemaVersionsOf(fullName)) id = registry.register(subject, version.schema).id;
      return id;
    },
    async schemaById(id) {
      const schema = registry.schemaById(id);
      if (schema === undefined) {
        throw new SchemaDecodeError('unknown-schema-id', `schema id ${id} is not registered`, id);
      }
      return schema;
    },
  });
}
