import { readFileSync } from 'node:fs';

import { InfraError } from '../errors.js';

/**
 * Renders a config file kept in the repository: every `${NAME}` is replaced from `values`.
 * @throws InfraError CM_ERR_INFRA_OPTIONS_INVALID naming any placeholder without a value, so a
 *   typo in a template fails loudly instead of reaching the server as a literal `${...}`.
 */
export function renderTemplate(templateFile: string, values: Readonly<Record<string, string | number>>): string {
  const missing = new Set<string>();
  const text = readFileSync(templateFile, 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) {
    throw new InfraError(
      'CM_ERR_INFRA_OPTIONS_INVALID',
      `${templateFile} uses unknown placeholders: ${[...missing].join(', ')}`,
      {
        context: { templateFile, missing: [...missing] },
      },
    );
  }
  return text;
}

/** Reads a JVM options file the way Cassandra's launcher does: one or more arguments per line, `#` comments. */
export function readJvmOptionsFile(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .flatMap((line) => line.split(/\s+/));
}
