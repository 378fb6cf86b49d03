import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type cassandra from 'cassandra-driver';
import { ChatmeshError } from '@chatmesh/errors';

/** The folder of versioned CQL files, `NNNN_name.cql`, applied in order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** One migration file. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
  /** sha256 of the file: an applied migration whose file changed is refused. */
  readonly checksum: string;
}

/** Options of {@link applyMigrations}. */
export interface ApplyMigrationsOptions {
  readonly keyspace: string;
  /**
   * The keyspace's replication, used only when it is created.
   * @default { class: 'SimpleStrategy', replication_factor: 1 } (a single test node; production passes
   *   NetworkTopologyStrategy with 3 per data centre)
   */
  readonly replication?: Readonly<Record<string, string | number>>;
  /** @default MIGRATIONS_DIR */
  readonly dir?: string;
}

/** Reads and splits the migration files (statements end with `;` at the end of a line; `--` comments). */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.cql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(`${dir}/${file}`, 'utf8');
      const statements = text
        .split('\n')
        .map((line) => line.replace(/--.*$/, ''))
        .join('\n')
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.cql$/, ''),
        statements,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

/**
 * Creates the keyspace if needed and applies, in order, every migration not yet recorded in
 * `<keyspace>.schema_migrations`. Safe to run concurrently from several processes only in the sense that
 * every statement is `IF NOT EXISTS`; run it from one place (the stack's start, a Kubernetes Job).
 * @returns the versions applied by this call.
 * @throws ChatmeshError CM_ERR_STORE_MIGRATION_CHANGED when an applied migration's file was edited.
 */
export async function applyMigrations(client: cassandra.Client, options: ApplyMigrationsOptions): Promise<number[]> {
  const ks = options.keyspace;
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(ks)) {
    throw new ChatmeshError('CM_ERR_STORE_MIGRATION_FAILED', `Invalid keyspace name "${ks}"`, {
      context: { keyspace: ks },
    });
  }
  const replication = options.replication ?? { class: 'SimpleStrategy', replication_factor: 1 };
  const replicationCql = JSON.stringify(replication).replaceAll('"', "'");
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql}`);
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp)`,
  );
  const applied = new Map(
    (await client.execute(`SELECT version, checksum FROM ${ks}.schema_migrations`)).rows.map((r) => [
      r['version'] as number,
      r['checksum'] as string,
    ]),
  );
  const done: number[] = [];
  for (const migration of loadMigrations(options.dir)) {
    const previous = applied.get(migration.version);
    if (previous !== undefined) {
      if (previous !== migration.checksum) {
        throw new ChatmeshError(
          'CM_ERR_STORE_MIGRATION_CHANGED',
          `Migration ${migration.name} was applied with another content; add a new migration instead of editing it`,
          { context: { version: migration.version } },
        );
      }
      continue;
    }
    for (const statement of migration.statements) {
      try {
        await client.execute(qualify(statement, ks));
      } catch (error) {
        throw new ChatmeshError(
          'CM_ERR_STORE_MIGRATION_FAILED',
          `Migration ${migration.name} failed: ${String(error)}`,
          {
            cause: error,
            context: { version: migration.version, statement },
          },
        );
      }
    }
    await client.execute(
      `INSERT INTO ${ks}.schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
      [migration.version, migration.name, migration.checksum, new Date()],
      { prepare: true },
    );
    done.push(migration.version);
  }
  return done;
}

/** Migration files name tables without a keyspace; qualify them so one file serves every keyspace. */
function qualify(statement: string, ks: string): string {
  return statement.replace(
    /^(CREATE TABLE IF NOT EXISTS|ALTER TABLE|CREATE INDEX IF NOT EXISTS \w+ ON)\s+(\w+)/i,
    `$1 ${ks}.$2`,
  );
}
