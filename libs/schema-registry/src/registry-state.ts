import { DEFAULT_COMPATIBILITY, type CompatibilityLevel } from './compatibility.js';
import type { SchemaRecord, StoreRecord } from './store/schema-store.js';

/** A version of a subject as the API returns it. */
export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schema: string;
}

/**
 * The registry's view, derived only from the store's records in log order, so every instance that has
 * read the same log holds the same view. When writes race, the first record in the log wins: a schema
 * record is ignored if its subject already has that version, if its id already names another schema,
 * or if its schema already has another id.
 */
export class RegistryState {
  readonly #subjects = new Map<string, SubjectVersion[]>();
  readonly #schemaById = new Map<number, string>();
  readonly #idBySchema = new Map<string, number>();
  readonly #subjectLevels = new Map<string, CompatibilityLevel>();
  readonly #acceptedNonces = new Set<string>();
  #globalLevel: CompatibilityLevel = DEFAULT_COMPATIBILITY;
  #maxId = 0;

  /** Applies one record; returns whether it changed the view. */
  apply(record: StoreRecord): boolean {
    if (record.kind === 'config') {
      if (record.subject === null) this.#globalLevel = record.compatibilityLevel;
      else this.#subjectLevels.set(record.subject, record.compatibilityLevel);
      return true;
    }
    if (!this.#accepts(record)) return false;
    const versions = this.#subjects.get(record.subject) ?? [];
    versions.push({ subject: record.subject, version: record.version, id: record.id, schema: record.schema });
    versions.sort((a, b) => a.version - b.version);
    this.#subjects.set(record.subject, versions);
    this.#schemaById.set(record.id, record.schema);
    this.#idBySchema.set(record.schema, record.id);
    this.#maxId = Math.max(this.#maxId, record.id);
    if (record.nonce !== '') this.#acceptedNonces.add(record.nonce);
    return true;
  }

  #accepts(record: SchemaRecord): boolean {
    if (!Number.isInteger(record.id) || record.id < 1 || !Number.isInteger(record.version) || record.version < 1)
      return false;
    if (this.#subjects.get(record.subject)?.some((v) => v.version === record.version)) return false;
    const existingSchema = this.#schemaById.get(record.id);
    if (existingSchema !== undefined && existingSchema !== record.schema) return false;
    const existingId = this.#idBySchema.get(record.schema);
    return existingId === undefined || existingId === record.id;
  }

  /** Whether the schema record written with this nonce is part of the view. */
  wasAccepted(nonce: string): boolean {
    return this.#acceptedNonces.has(nonce);
  }

  subjects(): string[] {
    return [...this.#subjects.keys()].sort();
  }

  versionsOf(subject: string): readonly SubjectVersion[] {
    return this.#subjects.get(subject) ?? [];
  }

  schemaById(id: number): string | undefined {
    return this.#schemaById.get(id);
  }

  idOfSchema(canonicalSchema: string): number | undefined {
    return this.#idBySchema.get(canonicalSchema);
  }

  /** The next id to propose: ids are global and increasing. */
  nextId(): number {
    return this.#maxId + 1;
  }

  globalLevel(): CompatibilityLevel {
    return this.#globalLevel;
  }

  subjectLevel(subject: string): CompatibilityLevel | undefined {
    return this.#subjectLevels.get(subject);
  }
}
