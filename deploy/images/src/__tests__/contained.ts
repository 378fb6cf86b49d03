/**
 * Starts a bundle the way the image runs it: as uid/gid 1000 on a read-only root filesystem with a
 * writable /tmp (the chart's emptyDir), in a mount namespace of its own (`unshare -m`, root only). Where
 * that cannot be had (not root, no unshare), it runs the bundle plainly and says so, so the start / ready
 * / SIGTERM checks still run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** The image's user (the Dockerfile's `USER 1000:1000`). */
export const IMAGE_UID = 1000;

let probed: string | undefined | null = null;

/** Why processes cannot be contained here, or undefined when they can. Probed once. */
export function containmentUnavailable(): string | undefined {
  if (probed !== null) return probed;
  if (process.getuid?.() !== 0) probed = 'not root: cannot make a mount namespace';
  else {
    const probe = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind -o ro / / && mount -t tmpfs tmpfs /tmp && exec setpriv --reuid 1000 --regid 1000 --clear-groups true',
      ],
      { encoding: 'utf8' },
    );
    probed = probe.status === 0 ? undefined : `unshare/setpriv failed: ${(probe.stderr || String(probe.error)).trim()}`;
  }
  return probed;
}

/** Spawns `node <args>` contained as described above (or plainly, see {@link containmentUnavailable}). */
export function spawnContained(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const node = process.execPath;
  if (containmentUnavailable() !== undefined) return spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const quoted = [node, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  // Each step execs the next, so the pid we hold is node's and SIGTERM reaches it directly, as in a pod.
  return spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount --bind -o ro / / && mount -t tmpfs tmpfs /tmp && exec setpriv --reuid ${IMAGE_UID} --regid ${IMAGE_UID} --clear-groups ${quoted}`,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}
