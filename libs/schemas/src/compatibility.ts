import avro from 'avsc';
import type { AvroSchemaJson, SchemaVersionFile } from './schema-files.js';

/** One reason a schema version cannot follow the previous one. */
export interface CompatibilityProblem {
  readonly fullName: string;
  /** The version that was written with. */
  readonly writerVersion: number;
  /** The version that must read it. */
  readonly readerVersion: number;
  readonly reason: string;
}

/**
 * Checks a record's history: every version must read what the previous one wrote (avsc's resolver,
 * i.e. Avro schema resolution), and every field a version adds to any record must carry a `default`
 * (so old readers and new readers of old data both have a value). Returns the problems, empty when
 * the history is compatible.
 */
export function checkSchemaHistory(versions: readonly SchemaVersionFile[]): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  for (let index = 1; index < versions.length; index += 1) {
    const writer = versions[index - 1];
    const reader = versions[index];
    if (writer === undefined || reader === undefined) continue;
    for (const reason of checkReaderCanRead(reader.schema, writer.schema)) {
      problems.push({
        fullName: reader.fullName,
        writerVersion: writer.version,
        readerVersion: reader.version,
        reason,
      });
    }
  }
  return problems;
}

/**
 * The reasons `readerSchema` cannot read data written with `writerSchema`; empty when it can.
 * Both avsc's schema resolution and the "added fields have defaults" rule are applied.
 */
export function checkReaderCanRead(readerSchema: AvroSchemaJson, writerSchema: AvroSchemaJson): string[] {
  const reasons: string[] = [];
  let reader: avro.Type;
  let writer: avro.Type;
  try {
    reader = avro.Type.forSchema(readerSchema as avro.Schema);
    writer = avro.Type.forSchema(writerSchema as avro.Schema);
  } catch (cause) {
    return [`invalid schema: ${(cause as Error).message}`];
  }
  try {
    reader.createResolver(writer);
  } catch (cause) {
    reasons.push(`cannot resolve: ${(cause as Error).message}`);
  }
  const writerRecords = collectRecords(writerSchema);
  for (const [name, readerFields] of collectRecords(readerSchema)) {
    const writerFields = writerRecords.get(name);
    if (writerFields === undefined) continue;
    for (const field of readerFields) {
      const known = [field.name, ...(field.aliases ?? [])].some((alias) => writerFields.some((w) => w.name === alias));
      if (!known && !('default' in field)) {
        reasons.push(`field ${name}.${field.name} was added without a default`);
      }
    }
  }
  return reasons;
}

interface FieldJson {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly default?: unknown;
  readonly type: AvroSchemaJson;
}

/** Every record definition in a schema, by full name (namespaces inherited as Avro specifies). */
function collectRecords(
  schema: AvroSchemaJson,
  namespace = '',
  out = new Map<string, FieldJson[]>(),
): Map<string, FieldJson[]> {
  if (Array.isArray(schema)) {
    for (const branch of schema as AvroSchemaJson[]) collectRecords(branch, namespace, out);
    return out;
  }
  if (typeof schema !== 'object' || schema === null) return out;
  const node = schema as Record<string, unknown>;
  const ns = typeof node['namespace'] === 'string' ? node['namespace'] : namespace;
  const name = typeof node['name'] === 'string' ? node['name'] : undefined;
  const fullName = name === undefined ? undefined : name.includes('.') ? name : ns ? `${ns}.${name}` : name;
  const innerNs = fullName?.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : ns;
  switch (node['type']) {
    case 'record':
    case 'error': {
      const fields = (node['fields'] as FieldJson[] | undefined) ?? [];
      if (fullName !== undefined) out.set(fullName, fields);
      for (const field of fields) collectRecords(field.type, innerNs, out);
      break;
    }
    case 'array':
      collectRecords(node['items'] as AvroSchemaJson, ns, out);
      break;
    case 'map':
      collectRecords(node['values'] as AvroSchemaJson, ns, out);
      break;
    default:
      if (typeof node['type'] === 'object') collectRecords(node['type'] as AvroSchemaJson, ns, out);
  }
  return out;
}
