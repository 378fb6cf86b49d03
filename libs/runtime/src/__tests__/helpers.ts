import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ChatmeshError } from '@chatmesh/errors';
import { createLogger, type Logger } from '@chatmesh/logging';
import type { DecodedValue, SchemaCodec } from '@chatmesh/schemas';
import { waitFor as waitForCondition } from '@chatmesh/testing';

/** A unique suffix for topics and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** @chatmesh/testing's `waitFor` with this package's positional arguments. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition') {
  return waitForCondition(check, { timeoutMs, intervalMs: 10, description: what });
}

/** A logger whose lines are kept for assertions. */
export function memoryLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    logger: createLogger({ service: 'test', level: 'debug', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/**
 * A tiny codec with Confluent's framing (magic byte 0, 4-byte id) over JSON bodies, so runtime tests
 * do not depend on Avro schemas. Buffers survive the round trip.
 */
export function createFakeCodec(): SchemaCodec & { subjectsEncoded: string[] } {
  const ids = new Map<string, number>();
  const subjectsEncoded: string[] = [];
  return {
    subjectsEncoded,
    async prepare() {},
    async encode(subject, value) {
      subjectsEncoded.push(subject);
      let id = ids.get(subject);
      if (id === undefined) {
        id = ids.size + 1;
        ids.set(subject, id);
      }
      const header = Buffer.alloc(5);
      header.writeUInt32BE(id, 1);
      return Buffer.concat([header, Buffer.from(JSON.stringify(value))]);
    },
    async decode<T>(bytes: Buffer): Promise<DecodedValue<T>> {
      if (bytes.length < 5 || bytes[0] !== 0) throw new ChatmeshError('CM_ERR_SCHEMA_DECODE', 'bad magic byte');
      try {
        const value = JSON.parse(bytes.subarray(5).toString(), (_key, v: unknown) =>
          v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer'
            ? Buffer.from((v as { data: number[] }).data)
            : v,
        ) as T;
        return { value, schemaId: bytes.readUInt32BE(1) };
      } catch (error) {
        throw new ChatmeshError('CM_ERR_SCHEMA_DECODE', 'corrupt body', { cause: error });
      }
    },
  };
}
