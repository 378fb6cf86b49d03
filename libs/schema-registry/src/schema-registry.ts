import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import { findIncompatibilities, isCompatibilityLevel, type CompatibilityLevel } from './compatibility.js';
import { RegistryApiError } from './errors.js';
import { RegistryState, type SubjectVersion } from './registry-state.js';
import type { SchemaStore } from './store/schema-store.js';

/** A registration request as the REST body carries it. */
export interface SchemaInput {
  readonly schema: string;
  /** Only AVRO (or absent, which means AVRO) is served. */
  readonly schemaType?: string;
  readonly references?: readonly unknown[];
}

/** Options of {@link SchemaRegistry}. */
export interface SchemaRegistryOptions {
  readonly store: SchemaStore;
  /** Times a registration is retried after losing a race to another instance. @default 5 */
  readonly maxRegisterAttempts?: number;
}

/**
 * The registry's operations over a {@link SchemaStore}: the same semantics as Confluent's registry for
 * the subset served (register, lookup, by id, versions, compatibility, config). Writes go through the
 * store and count only once read back, so instances sharing a store agree on ids and versions.
 * Every refusal is a {@link RegistryApiError} carrying the HTTP status and Confluent error code.
 */
export class SchemaRegistry {
  readonly #store: SchemaStore;
  readonly #state = new RegistryState();
  readonly #maxAttempts: number;
  /** Serialises this instance's writes: each one proposes ids from the view its predecessor left. */
  #writeChain: Promise<unknown> = Promise.resolve();
  readonly #types = new Map<string, avro.Type>();

  constructor(options: SchemaRegistryOptions) {
    this.#store = options.store;
    this.#maxAttempts = options.maxRegisterAttempts ?? 5;
  }

  /** Reads the store to its end. */
  async start(): Promise<void> {
    await this.#store.start((record) => this.#state.apply(record));
  }

  /** True once the store has caught up; the API answers 503 before. */
  isReady(): boolean {
    return this.#store.isCaughtUp();
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  /**
   * Registers a schema under a subject, or returns the id it already has there.
   * @throws RegistryApiError INVALID_SCHEMA (422/42201), INCOMPATIBLE_SCHEMA (409), STORE_ERROR (500/50001).
   */
  register(subject: string, input: SchemaInput): Promise<{ id: number }> {
    const canonical = this.#canonicalize(input);
    return this.#serialized(async () => {
      for (let attempt = 1; attempt <= this.#maxAttempts; attempt += 1) {
        const existing = this.#state.versionsOf(subject).find((v) => v.schema === canonical);
        if (existing !== undefined) return { id: existing.id };
        this.#assertCompatible(subject, canonical);
        const versions = this.#state.versionsOf(subject);
        const version = (versions[versions.length - 1]?.version ?? 0) + 1;
        const id = this.#state.idOfSchema(canonical) ?? this.#state.nextId();
        const nonce = randomUUID();
        await this.#store.append({ kind: 'schema', subject, version, id, schema: canonical, nonce });
        if (this.#state.wasAccepted(nonce)) return { id };
        // Another instance wrote first; the view now includes its record, so propose again.
      }
      throw new RegistryApiError('STORE_ERROR', `could not register under ${subject}: too many concurrent writers`);
    });
  }

  /**
   * The version of `subject` that is this schema.
   * @throws RegistryApiError SUBJECT_NOT_FOUND (40401), SCHEMA_NOT_FOUND (40403), INVALID_SCHEMA.
   */
  lookup(subject: string, input: SchemaInput): SubjectVersion {
    const canonical = this.#canonicalize(input);
    const found = this.#versions(subject).find((v) => v.schema === canonical);
    if (found === undefined) throw new RegistryApiError('SCHEMA_NOT_FOUND', 'Schema not found');
    return found;
  }

  /** @throws RegistryApiError SCHEMA_NOT_FOUND (40403) */
  schemaById(id: number): string {
    const schema = this.#state.schemaById(id);
    if (schema === undefined) throw new RegistryApiError('SCHEMA_NOT_FOUND', `Schema ${id} not found`);
    return schema;
  }

  subjects(): string[] {
    return this.#state.subjects();
  }

  /** @throws RegistryApiError SUBJECT_NOT_FOUND (40401) */
  versionNumbers(subject: string): number[] {
    return this.#versions(subject).map((v) => v.version);
  }

  /**
   * A version by number, `latest` or `-1`.
   * @throws RegistryApiError SUBJECT_NOT_FOUND (40401), VERSION_NOT_FOUND (40402), INVALID_VERSION (42202).
   */
  version(subject: string, version: string): SubjectVersion {
    const versions = this.#versions(subject);
    if (version === 'latest' || version === '-1') return versions[versions.length - 1] as SubjectVersion;
    const number = /^[1-9][0-9]{0,9}$/.test(version) ? Number(version) : NaN;
    if (!Number.isSafeInteger(number) || number > 2_147_483_647) {
      throw new RegistryApiError(
        'INVALID_VERSION',
        `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
      );
    }
    const found = versions.find((v) => v.version === number);
    if (found === undefined) throw new RegistryApiError('VERSION_NOT_FOUND', `Version ${version} not found.`);
    return found;
  }

  /**
   * Whether `input` could be registered after `version` of `subject` under the subject's level.
   * @throws RegistryApiError SUBJECT_NOT_FOUND, VERSION_NOT_FOUND, INVALID_VERSION, INVALID_SCHEMA.
   */
  testCompatibility(
    subject: string,
    version: string,
    input: SchemaInput,
  ): { is_compatible: boolean; messages: string[] } {
    const canonical = this.#canonicalize(input);
    const target = this.version(subject, version);
    const level = this.compatibilityOf(subject);
    const versions = this.#state.versionsOf(subject).filter((v) => v.version <= target.version);
    const previous = level.endsWith('_TRANSITIVE') ? versions : [target];
    const messages = findIncompatibilities(
      level,
      this.#typeOf(canonical),
      previous.map((v) => this.#typeOf(v.schema)),
    );
    return { is_compatible: messages.length === 0, messages };
  }

  /** The level that applies to a subject (its own, else the global one). */
  compatibilityOf(subject: string): CompatibilityLevel {
    return this.#state.subjectLevel(subject) ?? this.#state.globalLevel();
  }

  /** The global level. */
  globalCompatibility(): CompatibilityLevel {
    return this.#state.globalLevel();
  }

  /**
   * The subject's own level.
   * @throws RegistryApiError SUBJECT_COMPATIBILITY_NOT_CONFIGURED (40408) when it has none.
   */
  subjectCompatibility(subject: string): CompatibilityLevel {
    const level = this.#state.subjectLevel(subject);
    if (level === undefined) {
      throw new RegistryApiError(
        'SUBJECT_COMPATIBILITY_NOT_CONFIGURED',
        `Subject '${subject}' does not have subject-level compatibility configured`,
      );
    }
    return level;
  }

  /**
   * Sets the level of a subject, or the global one (`subject` null).
   * @throws RegistryApiError INVALID_COMPATIBILITY_LEVEL (42203), STORE_ERROR.
   */
  setCompatibility(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    if (!isCompatibilityLevel(level)) {
      throw new RegistryApiError(
        'INVALID_COMPATIBILITY_LEVEL',
        `Invalid compatibility level. Valid values are none, backward, forward, full, and their _transitive forms: ${String(level)}`,
      );
    }
    return this.#serialized(async () => {
      await this.#store.append({ kind: 'config', subject, compatibilityLevel: level });
      return level;
    });
  }

  #versions(subject: string): readonly SubjectVersion[] {
    const versions = this.#state.versionsOf(subject);
    if (versions.length === 0) throw new RegistryApiError('SUBJECT_NOT_FOUND', `Subject '${subject}' not found.`);
    return versions;
  }

  #assertCompatible(subject: string, canonical: string): void {
    const level = this.compatibilityOf(subject);
    const previous = this.#state.versionsOf(subject).map((v) => this.#typeOf(v.schema));
    const problems = findIncompatibilities(level, this.#typeOf(canonical), previous);
    if (problems.length > 0) {
      throw new RegistryApiError(
        'INCOMPATIBLE_SCHEMA',
        `Schema being registered is incompatible with an earlier schema for subject "${subject}" (${level}): ${problems.join('; ')}`,
        { context: { subject, level, problems } },
      );
    }
  }

  /** Validates and canonicalises (whitespace-free JSON, key order kept) a schema text. */
  #canonicalize(input: SchemaInput): string {
    if (input.schemaType !== undefined && input.schemaType !== null && input.schemaType !== 'AVRO') {
      throw new RegistryApiError(
        'INVALID_SCHEMA',
        `Unsupported schema type ${String(input.schemaType)}: only AVRO is served`,
      );
    }
    if (input.references !== undefined && input.references !== null && input.references.length > 0) {
      throw new RegistryApiError('INVALID_SCHEMA', 'Schema references are not supported by this registry');
    }
    if (typeof input.schema !== 'string')
      throw new RegistryApiError('INVALID_SCHEMA', 'Invalid schema: "schema" must be a string');
    let canonical: string;
    try {
      canonical = JSON.stringify(JSON.parse(input.schema));
    } catch (error) {
      throw new RegistryApiError('INVALID_SCHEMA', `Invalid schema ${input.schema}: ${(error as Error).message}`);
    }
    this.#typeOf(canonical);
    return canonical;
  }

  #typeOf(canonical: string): avro.Type {
    let type = this.#types.get(canonical);
    if (type === undefined) {
      try {
        type = avro.Type.forSchema(JSON.parse(canonical) as avro.Schema);
      } catch (error) {
        throw new RegistryApiError('INVALID_SCHEMA', `Invalid schema ${canonical}: ${(error as Error).message}`);
      }
      this.#types.set(canonical, type);
    }
    return type;
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writeChain.then(work, work);
    this.#writeChain = run.catch(() => undefined);
    return run;
  }
}
