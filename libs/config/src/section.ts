import { ChatmeshError } from '@chatmesh/errors';
import type { ConfigVariable, VariableValue } from './variable.js';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- referenced from TSDoc only
import type { LoadConfigOptions } from './load-config.js';

/** A set of variables a service (or the launcher) adds to the configuration under `config.sections[<key>]`,
 * the key it is given under in {@link LoadConfigOptions.sections}. */
export interface ConfigSection<
  V extends Record<string, ConfigVariable<unknown>> = Record<string, ConfigVariable<unknown>>,
> {
  /** One line for the docs. */
  readonly description: string;
  readonly variables: V;
}

/** The typed values of a section. */
export type SectionValues<S> =
  S extends ConfigSection<infer V> ? { readonly [K in keyof V]: VariableValue<V[K]> } : never;

/**
 * Declares a service's own configuration section. Pass it to {@link loadConfig} in `sections`
 * (`loadConfig({ sections: { gateway: GATEWAY_CONFIG } })` gives `config.sections.gateway`);
 * its variables are validated together with the base ones (every problem listed at once) and
 * rendered into `docs/configuration.md`.
 *
 * @example
 * export const GATEWAY_CONFIG = defineConfigSection({
 *   description: 'WebSocket gateway',
 *   variables: { maxFrameBytes: defineVariable({ env: 'CHATMESH_GATEWAY_MAX_FRAME_BYTES', ... }) },
 * });
 */
export function defineConfigSection<const V extends Record<string, ConfigVariable<unknown>>>(
  section: ConfigSection<V>,
): ConfigSection<V> {
  return section;
}

/**
 * A section's typed values from a loaded configuration whose sections are not statically known (a
 * service's `deps.config`).
 * @throws ChatmeshError `CM_ERR_CONFIG_SECTION_MISSING` when the process did not load it under `key`
 */
export function getConfigSection<S extends ConfigSection>(
  config: { readonly sections: Readonly<Record<string, unknown>> },
  key: string,
  _section: S,
): SectionValues<S> {
  const values = config.sections[key];
  if (values === undefined) {
    throw new ChatmeshError('CM_ERR_CONFIG_SECTION_MISSING', `configuration section "${key}" was not loaded`, {
      context: { section: key, loaded: Object.keys(config.sections) },
    });
  }
  return values as SectionValues<S>;
}
