import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

import { Redis } from 'ioredis';

import { InfraError } from '../errors.js';
import { childEnv, type ComponentDriver, type HealthReport } from './component.js';

/** Redis from the OS package (`redis-server`), as a child process with its own pid file, not the system service. */
export const redisDriver: ComponentDriver = {
  name: 'redis',
  dependsOn: [],
  stopGraceMs: 10_000,
  ports: (options) => [options.ports.redis],
  address: (options) => `${options.host}:${options.ports.redis}`,

  async prepare(options, paths) {
    const command = findRedisServer(options.env, options.log);
    mkdirSync(paths.dataDir, { recursive: true });
    return {
      command,
      // A cache for presence: no RDB snapshots and no AOF, so nothing survives a restart (as designed).
      args: [
        '--bind',
        options.host,
        '--port',
        String(options.ports.redis),
        '--protected-mode',
        'yes',
        '--daemonize',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        paths.dataDir,
        '--logfile',
        '',
      ],
      cwd: paths.dir,
      env: childEnv(options.env),
      logFile: paths.logFile,
    };
  },

  checkHealth: (options) => probeRedis(`redis://${options.host}:${options.ports.redis}`),
};

/**
 * Finds `redis-server`; when it is missing and this is a Debian-like machine where we are root,
 * installs Debian's package (what a fresh CI machine needs), else explains how.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING
 */
function findRedisServer(env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): string {
  const found = (): boolean => spawnSync('redis-server', ['--version'], { env: env as NodeJS.ProcessEnv }).status === 0;
  if (found()) return 'redis-server';
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0;
  if (canInstall) {
    log('redis: redis-server is missing, installing Debian package redis-server');
    const install = spawnSync(
      'sh',
      ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
      {
        encoding: 'utf8',
      },
    );
    if (install.status === 0 && found()) return 'redis-server';
  }
  throw new InfraError(
    'CM_ERR_INFRA_TOOL_MISSING',
    'redis-server is not installed: run `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu) or put redis-server on PATH',
    { component: 'redis' },
  );
}

/** Redis health: PING answers PONG; the version comes from INFO server. */
export async function probeRedis(url: string): Promise<HealthReport> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    // Without it a port that accepts but never answers (not Redis) hangs the probe forever.
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const pong = await client.ping();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    return pong === 'PONG' ? { healthy: true, version } : { healthy: false, detail: `PING answered ${pong}` };
  } catch (error) {
    return { healthy: false, detail: (error as Error).message };
  } finally {
    client.disconnect();
  }
}
