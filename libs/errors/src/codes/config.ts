import { defineCodes } from './types.js';

/** Codes of @chatmesh/config: the environment did not describe a runnable configuration. */
export const CONFIG_CODES = defineCodes({
  CM_ERR_CONFIG_INVALID: {
    message: 'The configuration read from the environment is invalid.',
    retriable: false,
    fix: 'Read the listed problems: each names the variable, its value and what is expected. See docs/configuration.md.',
  },
  CM_ERR_CONFIG_SECTION_CONFLICT: {
    message: 'Two configuration sections declare the same environment variable or section name.',
    retriable: false,
    fix: 'Give each section a unique name and each variable a unique name (prefix it with the service name).',
  },
  CM_ERR_CONFIG_SECTION_MISSING: {
    message: 'A service asked for a configuration section that the process did not load.',
    retriable: false,
    fix: 'Declare the section in the service module (`config: { <key>: SECTION }`) so the launcher and its main.ts load it.',
  },
});
