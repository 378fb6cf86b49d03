import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfra, infraStatus, stopInfra, type InfraEndpoints, type InfraOptions } from '@chatmesh/infra';
import type { ServerTarget } from './schedule.js';

/**
 * Kafka, Cassandra, Redis and the schema registry of this chaos run alone, started by `@chatmesh/infra` in a
 * state directory and on ports of their own (as its integration tests do): the run SIGKILLs and SIGSTOPs them,
 * which must never touch the servers other tests share.
 */
export interface PrivateInfra {
  readonly endpoints: InfraEndpoints;
  readonly stateDir: string;
  pid(server: ServerTarget): Promise<number>;
  /** SIGKILL; {@link start} brings it back on the same ports and data. */
  kill(server: ServerTarget): Promise<void>;
  /** SIGSTOP (`true`) or SIGCONT (`false`). */
  pause(server: ServerTarget, paused: boolean): Promise<void>;
  /** Starts what is not running (after a kill) and waits until healthy. */
  start(server: ServerTarget): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL after the server's grace period). */
  stop(server: ServerTarget): Promise<void>;
  /** Stops every server and removes the state directory. */
  close(): Promise<void>;
}

/**
 * A free port below Linux's ephemeral range (32768-60999): a port from `listen(0)` lies inside it, and on a
 * busy machine an outgoing connection can take it in the seconds before a JVM binds it (or, here, between a
 * kill and the restart on the same port).
 */
const handedOut = new Set<number>();
async function freeFixedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      handedOut.add(port);
      return port;
    }
  }
}

const paused = new Set<number>();
const cleanups = new Set<() => Promise<unknown>>();
// node:test runs no `after` hook on SIGINT/SIGTERM, and these servers are detached: never orphan them.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...cleanups].map((cleanup) => cleanup())).finally(() => process.exit(1));
  });
}

export async function startPrivateInfra(log: (line: string) => void): Promise<PrivateInfra> {
  const options: InfraOptions & { stateDir: string } = {
    components: ['kafka', 'cassandra', 'redis', 'schema-registry'],
    stateDir: mkdtempSync(join(tmpdir(), 'chatmesh-chaos-infra-')),
    ports: {
      kafka: await freeFixedPort(),
      kafkaController: await freeFixedPort(),
      cassandra: await freeFixedPort(),
      cassandraStorage: await freeFixedPort(),
      redis: await freeFixedPort(),
      schemaRegistry: await freeFixedPort(),
      s3: await freeFixedPort(),
    },
    log: (line) => log(`[infra] ${line}`),
  };
  const close = async (): Promise<void> => {
    for (const pid of paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    paused.clear();
    await stopInfra({ ...options, wipe: true }).catch((error: unknown) => log(`stopInfra: ${String(error)}`));
    rmSync(options.stateDir, { recursive: true, force: true });
  };
  cleanups.add(close);
  let endpoints: InfraEndpoints;
  try {
    endpoints = (await ensureInfra(options)).endpoints;
  } catch (error) {
    await close();
    cleanups.delete(close);
    throw error;
  }
  const pausedByServer = new Map<ServerTarget, number>();
  const pid = async (server: ServerTarget): Promise<number> => {
    const [status] = await infraStatus({ ...options, components: [server] });
    if (status?.pid === undefined) throw new Error(`${server} is not running (${status?.state})`);
    return status.pid;
  };
  return {
    endpoints,
    stateDir: options.stateDir,
    pid,
    async kill(server) {
      const target = await pid(server);
      process.kill(target, 'SIGKILL');
      paused.delete(target);
      // SIGKILL is asynchronous: the restart must not find the old process still alive.
      const deadline = Date.now() + 10_000;
      while (isAlive(target) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    async pause(server, stop) {
      // The pid of a paused server is remembered: asking infraStatus again would wait on the health probe of
      // the very server that cannot answer.
      const target = stop ? await pid(server) : (pausedByServer.get(server) ?? (await pid(server)));
      process.kill(target, stop ? 'SIGSTOP' : 'SIGCONT');
      if (stop) {
        paused.add(target);
        pausedByServer.set(server, target);
      } else {
        paused.delete(target);
        pausedByServer.delete(server);
      }
    },
    async start(server) {
      await ensureInfra({ ...options, components: [server] });
    },
    async stop(server) {
      await stopInfra({ ...options, components: [server] });
    },
    async close() {
      await close();
      cleanups.delete(close);
    },
  };
}

/** Alive and not a zombie (a killed child not yet reaped still answers signal 0). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
