/**
 * `npm run infra -- <command>`: the native test infrastructure from a shell.
 *
 *   up     [--only kafka,cassandra,redis,schema-registry,s3]   start (or reuse) and wait until healthy
 *   status [--only ...] [--json]                             version, address, pid, RSS and health of each
 *   down   [--only ...] [--wipe]                             stop what `up` started; --wipe deletes the data
 *   env    [--only ...] [--export]                          KAFKA_BROKERS=... lines for a shell
 *
 * State lives in $CHATMESH_INFRA_DIR (default <repo>/.infra); ports come from CHATMESH_INFRA_*_PORT.
 */
import { parseArgs } from 'node:util';

import { isChatmeshError } from '@chatmesh/errors';

import { endpointsToEnv, ensureInfra, infraEndpoints, infraStatus, stopInfra, type ComponentStatus } from './infra.js';
import { COMPONENT_NAMES, parseComponentList, type ComponentName } from './infra-options.js';

const USAGE = `usage: npm run infra -- <up|status|down|env> [--only ${COMPONENT_NAMES.join(',')}] [--wipe] [--json] [--export]`;

function log(line: string): void {
  process.stderr.write(`[infra ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function formatStatusLine(status: ComponentStatus): string {
  const health = status.health;
  const healthText =
    health === undefined ? '-' : health.healthy ? 'healthy' : `UNHEALTHY (${health.detail ?? 'no detail'})`;
  const rss = status.rssBytes === undefined ? '-' : `${Math.round(status.rssBytes / 1024 / 1024)} MB`;
  return [
    status.component.padEnd(16),
    status.state.padEnd(8),
    (health?.version ?? '-').padEnd(28),
    status.address.padEnd(24),
    `pid ${status.pid ?? '-'}`.padEnd(12),
    `rss ${rss}`.padEnd(12),
    healthText,
  ].join(' ');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      only: { type: 'string' },
      wipe: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      export: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined || positionals.length > 1) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const components: readonly ComponentName[] =
    values.only === undefined ? COMPONENT_NAMES : parseComponentList(values.only);

  switch (command) {
    case 'up': {
      const result = await ensureInfra({ components, log });
      const statuses = await infraStatus({ components });
      for (const status of statuses) process.stdout.write(`${formatStatusLine(status)}\n`);
      log(
        `up in ${(result.elapsedMs / 1000).toFixed(1)} s: started [${result.started.join(', ')}], reused [${result.reused.join(', ')}]`,
      );
      return 0;
    }
    case 'status': {
      const statuses = await infraStatus({ components });
      if (values.json) process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
      else for (const status of statuses) process.stdout.write(`${formatStatusLine(status)}\n`);
      return statuses.every((status) => status.health?.healthy === true) ? 0 : 1;
    }
    case 'down': {
      const outcomes = await stopInfra({ components, wipe: values.wipe, log });
      const stopped = outcomes.filter((outcome) => outcome.outcome !== 'none');
      log(
        stopped.length === 0
          ? 'nothing was running'
          : `down: ${stopped.map((o) => `${o.component} ${o.outcome}`).join(', ')}`,
      );
      return 0;
    }
    case 'env': {
      const env = endpointsToEnv(infraEndpoints(), components);
      for (const [name, value] of Object.entries(env)) {
        process.stdout.write(`${values.export ? 'export ' : ''}${name}=${value}\n`);
      }
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isChatmeshError(error)) log(`${error.code}: ${error.message}`);
    else log(String((error as Error)?.stack ?? error));
    process.exit(1);
  },
);
