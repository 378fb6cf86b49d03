import { z } from 'zod';

/**
 * One environment variable: how to parse its string, what it defaults to, and how to explain it.
 * The config table and every service section are made of these, and `docs/configuration.md` is
 * rendered from them, so the docs cannot drift from the schema.
 */
export interface ConfigVariable<T> {
  /** The environment variable's name, e.g. `CHATMESH_HTTP_PORT`. */
  readonly env: string;
  /** What it controls, one or two sentences, for the docs. */
  readonly description: string;
  /** Parses the raw string (already trimmed; empty counts as unset) into the typed value. */
  readonly schema: z.ZodType<Exclude<T, undefined>, string>;
  /** Completes "... is not a valid <noun>", e.g. `port`. */
  readonly noun: string;
  /** What a valid value looks like, e.g. `an integer 0-65535`. */
  readonly expected: string;
  /** The value when the variable is unset; `undefined` (optional variables only) means the setting stays unset. */
  readonly default: T;
  /** Unset is an error when `CHATMESH_MODE=stack` (the real servers' endpoints). @default false */
  readonly requiredInStack?: boolean;
  /** Never print the value (credentials in URLs). @default false */
  readonly secret?: boolean;
}

/** Declares a variable with a default; its type is inferred from the schema. */
export function defineVariable<T>(variable: ConfigVariable<T>): ConfigVariable<T> {
  return variable;
}

/** Declares a variable with no default: unset leaves the setting `undefined`. */
export function defineOptionalVariable<T>(
  variable: Omit<ConfigVariable<T>, 'default' | 'schema'> & { readonly schema: z.ZodType<T, string> },
): ConfigVariable<T | undefined> {
  return { ...variable, default: undefined } as ConfigVariable<T | undefined>;
}

/** The typed value a variable yields. */
export type VariableValue<V> = V extends ConfigVariable<infer T> ? T : never;

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/** Parsers for the kinds of values chatmesh reads from the environment. */
export const parsers = {
  /** A TCP port, 0 allowing the OS to pick one (tests). */
  port(): z.ZodType<number, string> {
    return z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(0).max(65_535));
  },
  /** A non-negative integer within bounds. */
  integer(min: number, max: number): z.ZodType<number, string> {
    return z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max));
  },
  /** One of fixed words. */
  oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number], string> {
    return z.enum(values) as unknown as z.ZodType<T[number], string>;
  },
  /** A URL whose scheme is one of `protocols` (without the colon). */
  url(protocols: readonly string[]): z.ZodType<string, string> {
    return z.string().refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    });
  },
  /** A comma-separated list of `host:port` (whitespace around items ignored, at least one). */
  hostPortList(): z.ZodType<readonly string[], string> {
    return z
      .string()
      .transform((value) => value.split(',').map((item) => item.trim()))
      .pipe(
        z
          .array(
            z
              .string()
              .regex(HOST_PORT)
              .refine((item) => Number(item.split(':')[1]) <= 65_535),
          )
          .min(1),
      );
  },
  /** A comma-separated list of distinct words out of `values`; `all` means every one of them. */
  subsetOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<readonly T[number][], string> {
    return z
      .string()
      .transform((value) => (value === 'all' ? [...values] : value.split(',').map((item) => item.trim())))
      .pipe(
        z
          .array(z.enum(values))
          .min(1)
          .refine((items) => new Set(items).size === items.length),
      ) as unknown as z.ZodType<readonly T[number][], string>;
  },
  /** A non-empty identifier: letters, digits, `.`, `_`, `-` (safe in topic and group names). */
  identifier(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z0-9._-]{1,120}$/);
  },
  /** A part of a topic name: 1-100 of `[A-Za-z0-9_-]` (no dots, which separate the parts). */
  topicPart(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);
  },
  /** A namespace of Kafka names: 1-64 of `[A-Za-z0-9_-]` (no dots; it becomes `<namespace>.` before every name). */
  namespace(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
  },
  /** A CQL identifier without quotes (keyspace, table): a letter, then up to 47 letters, digits or `_`. */
  cqlIdentifier(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,47}$/);
  },
  /** A file system path (no NUL, at most 4096 characters). */
  path(): z.ZodType<string, string> {
    return z
      .string()
      .max(4096)
      .regex(/^[^\0]+$/);
  },
  /** A host name or IP address. */
  host(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/);
  },
};
