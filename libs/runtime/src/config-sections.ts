import { ChatmeshError } from '@chatmesh/errors';
import type { ConfigSection } from '@chatmesh/config';
import { RETENTION_CONFIG } from './retention-config.js';
import type { ServiceModule } from './service-module.js';

/**
 * Merges the configuration sections of `modules` (plus `extra`, such as the launcher's own, and the retention
 * policy every process reads), to pass to `loadConfig({ sections })`, so every process validates exactly the
 * variables of what it runs.
 * @throws ChatmeshError `CM_ERR_CONFIG_SECTION_CONFLICT` when two declare the same key differently
 */
export function collectConfigSections(
  modules: readonly ServiceModule[],
  extra: Readonly<Record<string, ConfigSection>> = {},
): Record<string, ConfigSection> {
  const merged: Record<string, ConfigSection> = { retention: RETENTION_CONFIG, ...extra };
  for (const module of modules) {
    for (const [key, section] of Object.entries(module.config ?? {})) {
      if (merged[key] !== undefined && merged[key] !== section) {
        throw new ChatmeshError('CM_ERR_CONFIG_SECTION_CONFLICT', `configuration section "${key}" is declared twice`, {
          context: { section: key, service: module.name },
        });
      }
      merged[key] = section;
    }
  }
  return merged;
}
