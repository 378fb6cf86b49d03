import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatmeshError } from '@chatmesh/errors';

/** An Avro schema as JSON (what an `.avsc` file holds). */
export type AvroSchemaJson = string | readonly unknown[] | { readonly [key: string]: unknown };

/** One version of one top-level record, as kept in `schemas/<namespace path>/<Name>/v<N>.avsc`. */
export interface SchemaVersionFile {
  /** Full name, `namespace.Name`, e.g. `chatmesh.chat.ChatCommand`. */
  readonly fullName: string;
  /** 1, 2, ... contiguous. */
  readonly version: number;
  /** Path relative to the schemas root, with `/` separators. */
  readonly path: string;
  readonly schema: AvroSchemaJson;
}

/** The repository's `schemas/` directory. */
export const SCHEMAS_DIR: string = fileURLToPath(new URL('../../../schemas/', import.meta.url));

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

/**
 * Reads every `<ns path>/<Name>/v<N>.avsc` under `rootDir` and groups the versions by full name, sorted.
 * The layout is checked so a file cannot lie about what it holds: the schema's namespace and name must
 * match its folder, and versions must run 1..N without gaps.
 * @throws ChatmeshError CM_ERR_SCHEMA_INVALID for unparsable JSON, a misplaced file or a version gap.
 */
export function loadSchemaTree(rootDir: string = SCHEMAS_DIR): Map<string, SchemaVersionFile[]> {
  const byName = new Map<string, SchemaVersionFile[]>();
  for (const file of listFiles(rootDir)) {
    const rel = relative(rootDir, file).split(sep).join('/');
    const match = VERSION_FILE.exec(rel.slice(rel.lastIndexOf('/') + 1));
    if (!match) {
      throw invalid(rel, 'schema files are named v<N>.avsc');
    }
    let schema: AvroSchemaJson;
    try {
      schema = JSON.parse(readFileSync(file, 'utf8')) as AvroSchemaJson;
    } catch (cause) {
      throw invalid(rel, `not JSON: ${(cause as Error).message}`);
    }
    const folder = rel.split('/').slice(0, -1).join('.');
    const fullName = fullNameOf(schema);
    if (fullName !== folder) {
      throw invalid(rel, `declares ${String(fullName)} but its folder says ${folder}`);
    }
    const list = byName.get(fullName) ?? [];
    list.push({ fullName, version: Number(match[1]), path: rel, schema });
    byName.set(fullName, list);
  }
  const sorted = new Map<string, SchemaVersionFile[]>();
  for (const name of [...byName.keys()].sort()) {
    const versions = (byName.get(name) ?? []).sort((a, b) => a.version - b.version);
    versions.forEach((entry, index) => {
      if (entry.version !== index + 1) throw invalid(entry.path, `versions of ${name} must run 1..N without gaps`);
    });
    sorted.set(name, versions);
  }
  return sorted;
}

/** The full name (`namespace.name`) of a named schema, or undefined for anonymous ones. */
export function fullNameOf(schema: AvroSchemaJson): string | undefined {
  if (typeof schema !== 'object' || Array.isArray(schema) || schema === null) return undefined;
  const record = schema as { readonly name?: unknown; readonly namespace?: unknown };
  if (typeof record.name !== 'string') return undefined;
  if (record.name.includes('.') || typeof record.namespace !== 'string') return record.name;
  return `${record.namespace}.${record.name}`;
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listFiles(path, out);
    else if (name.endsWith('.avsc')) out.push(path);
  }
  return out;
}

function invalid(path: string, reason: string): ChatmeshError {
  return new ChatmeshError('CM_ERR_SCHEMA_INVALID', `${path}: ${reason}`, { context: { path, reason } });
}
