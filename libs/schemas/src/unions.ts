/**
 * Typed access to Avro's wrapped unions. avsc decodes a union of records as `{ 'full.Name': value }`; probing it with
 * `'full.Name' in body` compiles for any string, so a misspelt or removed branch goes unnoticed. These helpers take
 * the branch name from the union's own type: a name that is not a branch, or a {@link matchBranch} that misses one,
 * fails `tsc`.
 */
import { ChatmeshError } from '@chatmesh/errors';

/** The branch names (record full names) of a wrapped union type. */
export type BranchName<U> = U extends unknown ? keyof U & string : never;

/** The value of branch `K` of the wrapped union `U`. */
export type BranchValue<U, K extends BranchName<U>> = U extends { readonly [P in K]: infer V } ? V : never;

/** One handler per branch of `U`: {@link matchBranch} needs them all, so a new branch is a compile error until handled. */
export type BranchHandlers<U, R> = { readonly [K in BranchName<U>]: (value: BranchValue<U, K>) => R };

/** The one branch name a decoded union holds. */
export function branchNameOf<U extends object>(union: U): BranchName<U> {
  const names = Object.keys(union);
  if (names.length !== 1) {
    throw new ChatmeshError(
      'CM_ERR_SCHEMA_UNION_BRANCH',
      `a wrapped union holds exactly one branch, this one holds ${names.length}: ${names.join(', ')}`,
      { context: { branches: names } },
    );
  }
  return names[0] as BranchName<U>;
}

/** The value of branch `name`, or undefined when the union holds another branch. */
export function branchValue<U extends object, K extends BranchName<U>>(
  union: U,
  name: K,
): BranchValue<U, K> | undefined {
  return Object.hasOwn(union, name) ? ((union as Record<string, unknown>)[name] as BranchValue<U, K>) : undefined;
}

/** True when the union holds branch `name`; narrows it to that branch. */
export function isBranch<U extends object, K extends BranchName<U>>(
  union: U,
  name: K,
): union is Extract<U, { readonly [P in K]: unknown }> {
  return Object.hasOwn(union, name);
}

/**
 * Calls the handler of the branch the union holds and returns its result. Every branch needs a handler.
 * @throws ChatmeshError CM_ERR_SCHEMA_UNION_BRANCH when the value holds no branch, several, or one with no handler
 * (a value built by hand; decoded values always hold one known branch).
 */
export function matchBranch<U extends object, R>(union: U, handlers: BranchHandlers<U, R>): R {
  const name = branchNameOf(union);
  const handler = (handlers as Readonly<Record<string, ((value: unknown) => R) | undefined>>)[name];
  if (handler === undefined) {
    throw new ChatmeshError('CM_ERR_SCHEMA_UNION_BRANCH', `no handler for the union branch ${name}`, {
      context: { branch: name },
    });
  }
  return handler((union as Record<string, unknown>)[name]);
}

/**
 * Ends an `isBranch` chain that handled every branch: its argument is `never` there, so a branch added to the
 * schema and not handled makes the call a compile error.
 * @throws ChatmeshError CM_ERR_SCHEMA_UNION_BRANCH if reached at run time (a value built by hand).
 */
export function unhandledBranch(union: never): never {
  throw new ChatmeshError('CM_ERR_SCHEMA_UNION_BRANCH', 'a union value holds a branch no code handles', {
    context: { branches: Object.keys(union as object) },
  });
}
