/**
 * @chatmesh/config: the one path from environment variables to a typed, validated, deep-frozen
 * configuration. `loadConfig()` reads `process.env` (tests pass a map), lists every
 * bad variable in one {@link ConfigError}, and services add their own sections with
 * {@link defineConfigSection}. `docs/configuration.md` is rendered from the same tables.
 */
export { loadConfig, findUnknownVariables, allVariables, STACK_HINT } from './load-config.js';
export type { EnvMap, LoadConfigOptions, LoadedConfig } from './load-config.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { CONFIG_DEFAULTS } from './defaults.js';
export { CONFIG_VARIABLES, LOG_LEVELS, type ChatmeshConfig, type LogLevel, type RunMode } from './variables.js';
export { SERVICE_NAMES, type ServiceName } from './service-names.js';
export { defineConfigSection, getConfigSection, type ConfigSection, type SectionValues } from './section.js';
export {
  defineVariable,
  defineOptionalVariable,
  parsers,
  type ConfigVariable,
  type VariableValue,
} from './variable.js';
export { renderConfigDocs, renderDefault } from './render-config-docs.js';
