import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

let dockerAnswer: Promise<boolean> | undefined;

/**
 * Whether a Docker (or compatible) engine answers, as testcontainers would find it. Checked once per
 * process. The cheap signs (DOCKER_HOST, the socket, testcontainers' own config) come first, so a
 * machine without Docker does not pay for testcontainers' full discovery.
 */
export function isDockerAvailable(env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  dockerAnswer ??= (async () => {
    const hints =
      Boolean(env.DOCKER_HOST) ||
      Boolean(env.TESTCONTAINERS_HOST_OVERRIDE) ||
      existsSync('/var/run/docker.sock') ||
      existsSync(join(homedir(), '.testcontainers.properties')) ||
      existsSync(join(homedir(), '.docker', 'run', 'docker.sock'));
    if (!hints) return false;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await Promise.race([
        getContainerRuntimeClient(),
        new Promise((_resolve, reject) => setTimeout(() => reject(new Error('no answer in 15 s')), 15_000).unref()),
      ]);
      return true;
    } catch {
      return false;
    }
  })();
  return dockerAnswer;
}

/** The host name under which containers' mapped ports are reachable (not always localhost: remote engines). */
export async function dockerHost(): Promise<string> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  return (await getContainerRuntimeClient()).info.containerRuntime.host;
}
