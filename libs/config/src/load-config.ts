import { ChatmeshError } from '@chatmesh/errors';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { deepFreeze } from './internal/deep-freeze.js';
import type { ConfigSection, SectionValues } from './section.js';
import type { ConfigVariable } from './variable.js';
import { CONFIG_VARIABLES, type ChatmeshConfig } from './variables.js';

/** An environment: `process.env` in production, a plain map in tests. */
export type EnvMap = Readonly<Record<string, string | undefined>>;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions<S extends Record<string, ConfigSection> = Record<never, never>> {
  /** Where to read variables from. @default process.env */
  readonly env?: EnvMap;
  /** Service sections, by the key they appear under in `config.sections`. @default {} */
  readonly sections?: S;
}

/** What {@link loadConfig} returns: the base settings plus each section's, deep-frozen. */
export type LoadedConfig<S extends Record<string, ConfigSection> = Record<never, never>> = ChatmeshConfig & {
  readonly sections: { readonly [K in keyof S]: SectionValues<S[K]> };
};

/** Printed once under the problems when stack mode lacks endpoints. */
export const STACK_HINT =
  'Stack mode runs against real servers: start them with `npm run infra -- up`, then load their addresses with `eval "$(npm run -s infra -- env --export)"`.';

/** Prefixes of `CHATMESH_*` variables that other tools read. */
const FOREIGN_PREFIXES = ['CHATMESH_TEST_', 'CHATMESH_INFRA_'] as const;

type VariableTable = Readonly<Record<string, ConfigVariable<unknown>>>;

/**
 * Reads the environment into the typed configuration: raw strings → parsed by each variable's
 * schema (one strict zod object per table, so every bad variable is reported, not just the first)
 * → defaults applied → cross-checks (stack mode needs its endpoints) → deep-frozen.
 *
 * Empty or whitespace-only values count as unset, as shells and manifests often export `VAR=`.
 *
 * @throws ConfigError `CM_ERR_CONFIG_INVALID` listing every problem with variable, value and expectation.
 * @throws ChatmeshError `CM_ERR_CONFIG_SECTION_CONFLICT` when two tables declare the same variable.
 */
export function loadConfig<S extends Record<string, ConfigSection> = Record<never, never>>(
  options: LoadConfigOptions<S> = {},
): LoadedConfig<S> {
  const env = options.env ?? process.env;
  const sections = (options.sections ?? {}) as Record<string, ConfigSection>;
  assertNoConflicts(sections);

  const problems: ConfigProblem[] = [];
  const base = parseTable(CONFIG_VARIABLES as VariableTable, env, problems) as unknown as ChatmeshConfig | undefined;
  const sectionValues: Record<string, unknown> = {};
  for (const [key, section] of Object.entries(sections)) {
    sectionValues[key] = parseTable(section.variables, env, problems);
  }

  // Only check stack requirements when the mode itself parsed; otherwise the mode's own problem says it all.
  let needsHint = false;
  if (base?.mode === 'stack' || (base === undefined && readRaw(env, CONFIG_VARIABLES.mode.env) === 'stack')) {
    for (const variable of [CONFIG_VARIABLES, ...Object.values(sections).map((s) => s.variables)].flatMap((t) =>
      Object.values(t as VariableTable),
    )) {
      if (variable.requiredInStack && readRaw(env, variable.env) === undefined) {
        needsHint = true;
        problems.push({
          variable: variable.env,
          value: undefined,
          expected: variable.expected,
          message: `${variable.env} is not set: it is required when CHATMESH_MODE=stack; expected ${variable.expected}`,
        });
      }
    }
  }

  if (problems.length > 0 || base === undefined) throw new ConfigError(problems, needsHint ? STACK_HINT : undefined);
  return deepFreeze({ ...base, sections: sectionValues }) as LoadedConfig<S>;
}

/**
 * `CHATMESH_*` variables set in `env` that no table declares: usually a typo. The launcher logs them as
 * a warning rather than failing. `CHATMESH_TEST_*` (test tooling) and `CHATMESH_INFRA_*` (`npm run infra`)
 * belong to other tools and are not reported.
 */
export function findUnknownVariables(env: EnvMap, sections: Record<string, ConfigSection> = {}): string[] {
  const known = new Set(allVariables(sections).map((variable) => variable.env));
  return Object.keys(env)
    .filter((name) => name.startsWith('CHATMESH_') && !FOREIGN_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .filter((name) => !known.has(name))
    .sort();
}

/** Every variable of the base table and the given sections, in declaration order. */
export function allVariables(sections: Record<string, ConfigSection> = {}): ConfigVariable<unknown>[] {
  return [CONFIG_VARIABLES as VariableTable, ...Object.values(sections).map((section) => section.variables)].flatMap(
    (table) => Object.values(table),
  );
}

function readRaw(env: EnvMap, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function parseTable(table: VariableTable, env: EnvMap, problems: ConfigProblem[]): Record<string, unknown> | undefined {
  const raw: Record<string, string> = {};
  for (const [key, variable] of Object.entries(table)) {
    const value = readRaw(env, variable.env);
    if (value !== undefined) raw[key] = value;
  }
  const schema = z.strictObject(
    Object.fromEntries(Object.entries(table).map(([key, variable]) => [key, variable.schema.optional()])),
  );
  const result = schema.safeParse(raw);
  if (!result.success) {
    const reported = new Set<string>();
    for (const issue of result.error.issues) {
      const key = String(issue.path[0]);
      const variable = table[key];
      if (variable === undefined || reported.has(key)) continue;
      reported.add(key);
      const shown = variable.secret ? maskSecret(raw[key] ?? '') : raw[key];
      problems.push({
        variable: variable.env,
        value: shown,
        expected: variable.expected,
        message: `${variable.env}=${JSON.stringify(shown)} is not a valid ${variable.noun}: expected ${variable.expected}`,
      });
    }
    return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(table)) {
    values[key] = (result.data as Record<string, unknown>)[key] ?? variable.default;
  }
  return values;
}

/** Hides credentials in URLs (`redis://:secret@host` → `redis://***@host`) so logs never carry them. */
function maskSecret(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

function assertNoConflicts(sections: Record<string, ConfigSection>): void {
  const seen = new Map<string, string>();
  for (const [owner, table] of [
    ['base', CONFIG_VARIABLES as VariableTable] as const,
    ...Object.entries(sections).map(([key, section]) => [key, section.variables] as const),
  ]) {
    for (const variable of Object.values(table)) {
      const previous = seen.get(variable.env);
      if (previous !== undefined) {
        throw new ChatmeshError(
          'CM_ERR_CONFIG_SECTION_CONFLICT',
          `${variable.env} is declared by both "${previous}" and "${owner}"`,
          { context: { variable: variable.env, sections: [previous, owner] } },
        );
      }
      seen.set(variable.env, owner);
    }
  }
}
