/**
 * The gateway process the density benchmark measures, embedded or on the stack, behind one shape: where
 * its sockets connect, where its metrics are, which pid's RSS to read, and how tokens are signed for it.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DEV_SECRET } from '@chatmesh/delivery-gateway';
import { startStack } from '../send-deliver/targets.js';
import type { TokenSigner } from '../send-deliver/tokens.js';
import { startEmbeddedProcess } from './embedded-process.js';

export interface DensityTarget {
  readonly mode: 'embedded' | 'stack';
  /** The measured process: the embedded launcher, or the stack's gateway process. */
  readonly pid: number;
  /** `ws://…/v1/ws` of the measured gateway. */
  readonly wsUrl: string;
  /**
   * Where the membership setup connects: on the stack a second gateway, so the measured process never
   * holds the setup's sockets and garbage (the chats live in Cassandra either way); embedded, the same one.
   */
  readonly setupWsUrl: string;
  /** Where `/metrics` of the measured process is served. */
  readonly metricsUrl: string;
  readonly signer: TokenSigner;
  /** What ran where, stored with the result. */
  readonly description: string;
  readonly environment: Readonly<Record<string, unknown>>;
  stop(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** Embedded: `npm start`'s launcher with `services` (the existing density setup), the dev secret. */
export async function startEmbeddedDensityTarget(options: {
  readonly logDir: string;
  readonly services: string;
  readonly compiled: boolean;
  readonly nodeFlags: string;
  readonly heapSnapshotDir: string | null;
  /** glibc's MALLOC_ARENA_MAX for the measured process (null: glibc's default). */
  readonly mallocArenaMax: number | null;
}): Promise<DensityTarget> {
  const gateway = await startEmbeddedProcess({
    logDir: options.logDir,
    gcOnSignal: true,
    compiled: options.compiled,
    nodeFlags: options.nodeFlags,
    env: {
      CHATMESH_SERVICES: options.services,
      ...(options.mallocArenaMax === null ? {} : { MALLOC_ARENA_MAX: String(options.mallocArenaMax) }),
      ...(options.heapSnapshotDir === null ? {} : { CHATMESH_BENCH_HEAP_SNAPSHOT_DIR: options.heapSnapshotDir }),
    },
  });
  return {
    mode: 'embedded',
    pid: gateway.pid,
    wsUrl: `${gateway.gatewayUrl.replace(/^http/, 'ws')}/v1/ws`,
    setupWsUrl: `${gateway.gatewayUrl.replace(/^http/, 'ws')}/v1/ws`,
    metricsUrl: gateway.opsUrl,
    signer: { alg: 'HS256', secret: DEFAULT_DEV_SECRET, issuer: 'chatmesh-dev', audience: 'chatmesh' },
    description: `npm start launcher, embedded (memory bus/store/presence, local codec), CHATMESH_SERVICES=${options.services}, ${options.compiled ? 'compiled (esbuild bundle, no keepNames, plain node)' : 'TypeScript sources through tsx'}`,
    environment: { log: gateway.logFile },
    stop: () => gateway.stop(),
  };
}

/**
 * Stack: every service as its own process on the running Kafka, registry, Cassandra and Redis (the
 * send → deliver benchmark's stack, its own namespace and keyspace, deleted at the end), one gateway,
 * started with the GC-on-signal preload; only that gateway process is measured.
 */
export async function startStackDensityTarget(options: {
  readonly logDir: string;
  readonly readyTimeoutMs: number;
  readonly nodeFlags: string;
  readonly heapSnapshotDir: string | null;
  /** glibc's MALLOC_ARENA_MAX for the measured process (null: glibc's default). */
  readonly mallocArenaMax: number | null;
}): Promise<DensityTarget> {
  const runId = `dn${randomBytes(3).toString('hex')}`;
  const stack = await startStack({
    runId,
    logDir: options.logDir,
    readyTimeoutMs: options.readyTimeoutMs,
    gateways: 2,
    env: {},
    gatewayNodeArgs: [
      '--expose-gc',
      '--import',
      join(HERE, 'gc-on-signal.ts'),
      ...options.nodeFlags.split(/\s+/).filter((flag) => flag !== ''),
    ],
    gatewayEnv: {
      ...(options.heapSnapshotDir === null ? {} : { CHATMESH_BENCH_HEAP_SNAPSHOT_DIR: options.heapSnapshotDir }),
      ...(options.mallocArenaMax === null ? {} : { MALLOC_ARENA_MAX: String(options.mallocArenaMax) }),
    },
  });
  // Gateway 1 is measured; gateway 0 serves the setup.
  const gateway = stack.gatewayProcesses()[1];
  return {
    mode: 'stack',
    pid: gateway!.pid,
    wsUrl: stack.gatewayWsUrls[1]!,
    setupWsUrl: stack.gatewayWsUrls[0]!,
    metricsUrl: gateway!.opsUrl,
    signer: stack.signer,
    description:
      'stack: services/delivery-gateway/src/main.ts (TypeScript sources through tsx, CHATMESH_MODE=stack) as its own process, measured; a second gateway for the membership setup; ingest, fan-out, receipts, presence and push as their own processes on Kafka, the registry, Cassandra and Redis',
    environment: stack.environment,
    stop: () => stack.stop(),
  };
}
