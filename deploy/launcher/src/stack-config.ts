import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';
import { EMBEDDED_CONFIG } from './embedded-config.js';

/** Defaults of the stack launcher's section. */
export const STACK_DEFAULTS: Readonly<{ basePort: number; logDir: string }> = Object.freeze({
  /** Ops port of the first service; the others follow in {@link SERVICE_NAMES} order. @default 9101 */
  basePort: 9101,
  /** Directory of the per-service log files, relative to the repository root. @default '.stack/logs' */
  logDir: '.stack/logs',
});

/** Variables of `npm run stack` (the launcher's own section, `config.sections.stack`). */
export const STACK_CONFIG = defineConfigSection({
  description:
    'Read by `npm run stack` only. It runs each service as its own process against the servers named by the base variables.',
  variables: {
    basePort: defineVariable({
      env: 'CHATMESH_STACK_BASE_PORT',
      description:
        'Ops port of the first service; the others take the next ports in the order ingest, fan-out, receipts, push, presence, delivery-gateway.',
      schema: parsers.integer(1, 65_529),
      noun: 'port',
      expected: 'an integer 1-65529 (six consecutive ports must fit)',
      default: STACK_DEFAULTS.basePort,
    }),
    logDir: defineVariable({
      env: 'CHATMESH_STACK_LOG_DIR',
      description: 'Where each service writes `<service>.log`, relative to the repository root (or absolute).',
      schema: parsers.path(),
      noun: 'directory',
      expected: 'a directory path',
      default: STACK_DEFAULTS.logDir,
    }),
  },
});

/** The launcher's own sections; {@link CONFIG_SECTIONS} adds the services'. */
export const LAUNCHER_SECTIONS = Object.freeze({ stack: STACK_CONFIG, embedded: EMBEDDED_CONFIG });
