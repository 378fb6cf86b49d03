/**
 * The part both codecs share: Confluent framing, avsc encoding with the subject's current schema, and
 * decoding with the writer's schema (found by id) resolved to the current schema of the same record.
 * Where the schemas come from (an HTTP registry or the in-process one) is a {@link SchemaSource}.
 */
import avro from 'avsc';
import type { SchemaCodec, DecodedValue } from '../codec-types.js';
import { SchemaDecodeError, SchemaEncodeError } from '../errors.js';
import { avscOptions, latestSchemaOf, latestTypeOf } from '../schema-catalog.js';
import { SCHEMA_HISTORY } from '../__generated__/index.js';
import type { AvroSchemaJson } from '../schema-files.js';
import { schemaNameForSubject } from '../topics.js';
import { frameValue, parseFrame } from '../wire-format.js';
import { checkAvroBounds } from './avro-bounds.js';

/** Where ids come from. Implementations throw chatmesh errors (decode errors for unknown ids). */
export interface SchemaSource {
  /** Registers (or finds) `schema` under `subject`; resolves to its global id. */
  register(subject: string, fullName: string, schema: AvroSchemaJson): Promise<number>;
  /** The schema of an id. @throws SchemaDecodeError `unknown-schema-id` when the registry has no such id. */
  schemaById(id: number): Promise<AvroSchemaJson>;
}

/** A {@link SchemaCodec} with the extras both implementations offer. */
export interface FramedSchemaCodec extends SchemaCodec {
  /** `local` (in-process registry) or `registry` (HTTP, Confluent-compatible). */
  readonly kind: 'local' | 'registry';
  /** The id `encode` uses for a subject, once prepared (or first encoded); undefined before. */
  schemaIdOf(subject: string): number | undefined;
}

interface WriterEntry {
  readonly id: number;
  readonly type: avro.Type;
}

interface ReaderEntry {
  readonly type: avro.Type;
  /** The schema the bytes were written with: the bounds check walks it. */
  readonly writer: avro.Type;
  /** Absent when writer and reader are the same schema. */
  readonly resolver: avro.Resolver | undefined;
}

/** Builds a codec over a schema source; every cache is per codec instance. */
export function createFramedCodec(kind: FramedSchemaCodec['kind'], source: SchemaSource): FramedSchemaCodec {
  const writers = new Map<string, WriterEntry>();
  const pendingWriters = new Map<string, Promise<WriterEntry>>();
  const readers = new Map<number, ReaderEntry>();
  const pendingReaders = new Map<number, Promise<ReaderEntry>>();

  function writerFor(subject: string): Promise<WriterEntry> {
    const pending = pendingWriters.get(subject);
    if (pending !== undefined) return pending;
    const fullName = schemaNameForSubject(subject);
    // Concurrent first uses of a subject share one registration.
    const promise = source
      .register(subject, fullName, latestSchemaOf(fullName))
      .then((id) => {
        const entry = { id, type: latestTypeOf(fullName) };
        writers.set(subject, entry);
        return entry;
      })
      .finally(() => pendingWriters.delete(subject));
    pendingWriters.set(subject, promise);
    return promise;
  }

  function readerFor(id: number): Promise<ReaderEntry> {
    const pending = pendingReaders.get(id);
    if (pending !== undefined) return pending;
    const promise = source
      .schemaById(id)
      .then((schema) => {
        const entry = buildReader(id, schema);
        readers.set(id, entry);
        return entry;
      })
      .finally(() => pendingReaders.delete(id));
    pendingReaders.set(id, promise);
    return promise;
  }

  return {
    kind,
    schemaIdOf: (subject) => writers.get(subject)?.id,
    async prepare(subjects) {
      await Promise.all(subjects.map((subject) => writers.get(subject) ?? writerFor(subject)));
    },
    async encode(subject, value) {
      const writer = writers.get(subject) ?? (await writerFor(subject));
      let body: Buffer;
      try {
        body = writer.type.toBuffer(value);
      } catch (cause) {
        throw new SchemaEncodeError(subject, invalidPaths(writer.type, value), {
          cause,
          context: { schemaId: writer.id },
        });
      }
      return frameValue(writer.id, body);
    },
    async decode<T = unknown>(bytes: Buffer): Promise<DecodedValue<T>> {
      const { schemaId, body } = parseFrame(bytes);
      const reader = readers.get(schemaId) ?? (await readerFor(schemaId));
      // Before avsc, which would allocate whatever counts a corrupt body claims (see avro-bounds.ts).
      const outOfBounds = checkAvroBounds(reader.writer, body);
      if (outOfBounds !== null) {
        throw new SchemaDecodeError(
          'corrupt-body',
          `the Avro body does not fit schema ${schemaId}: ${outOfBounds}`,
          schemaId,
        );
      }
      try {
        return { value: reader.type.fromBuffer(body, reader.resolver) as T, schemaId };
      } catch (cause) {
        throw new SchemaDecodeError(
          'corrupt-body',
          `the Avro body does not decode with schema ${schemaId}: ${(cause as Error).message}`,
          schemaId,
          {
            cause,
          },
        );
      }
    },
  };
}

function buildReader(id: number, schema: AvroSchemaJson): ReaderEntry {
  let writer: avro.Type;
  try {
    writer = avro.Type.forSchema(schema as avro.Schema, avscOptions());
  } catch (cause) {
    throw new SchemaDecodeError(
      'unreadable-writer',
      `schema ${id} is not valid Avro: ${(cause as Error).message}`,
      id,
      { cause },
    );
  }
  // Read into the current version of the same record, so handlers only ever see current shapes;
  // a record this build does not know is read as written.
  const name = writer.name;
  const reader = name !== undefined && SCHEMA_HISTORY[name] !== undefined ? latestTypeOf(name) : writer;
  if (reader.equals(writer)) return { type: reader, writer, resolver: undefined };
  try {
    return { type: reader, writer, resolver: reader.createResolver(writer) };
  } catch (cause) {
    throw new SchemaDecodeError(
      'unreadable-writer',
      `schema ${id} cannot be read as the current ${String(name)}: ${(cause as Error).message}`,
      id,
      {
        cause,
      },
    );
  }
}

function invalidPaths(type: avro.Type, value: unknown): string[][] {
  const paths: string[][] = [];
  type.isValid(value, { errorHook: (path: string[]) => paths.push([...path]) });
  return paths;
}
