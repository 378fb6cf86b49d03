/**
 * Presence registry benchmark (not a test): registrations/s, batched device refreshes/s, gateway lease
 * heartbeats/s and 1,024-user batch lookups/s against Redis, for the docs.
 *
 *   REDIS_URL=redis://127.0.0.1:16379 npm run bench -w @chatmesh/presence-registry
 *   (or: npm run -s infra -- env to print the native server's address)
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6379), BENCH_USERS (default 50000),
 * BENCH_CONCURRENCY (in-flight registrations, default 256), BENCH_LOOKUPS (default 200),
 * BENCH_REFRESH_BATCH (default 2000). Keys go under a random prefix that is deleted at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { createRedisPresenceRegistry } from '../src/index.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const USERS = Number(process.env['BENCH_USERS'] ?? 50_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 256);
const LOOKUPS = Number(process.env['BENCH_LOOKUPS'] ?? 200);
const REFRESH_BATCH = Number(process.env['BENCH_REFRESH_BATCH'] ?? 2_000);
const GROUP_SIZE = 1_024;

/** Runs `count` tasks with at most `concurrency` in flight; returns elapsed ms. */
async function timed(count: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
  return performance.now() - startedMs;
}

function rate(count: number, elapsedMs: number): string {
  return `${Math.round((count / elapsedMs) * 1000).toLocaleString('en-US')}/s`;
}

async function main(): Promise<void> {
  const keyPrefix = `bench-presence-${randomBytes(4).toString('hex')}:`;
  const registry = await createRedisPresenceRegistry({ url: REDIS_URL, keyPrefix });
  const admin = new Redis(REDIS_URL);
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
  console.log(
    `presence registry bench: Redis ${redisVersion} at ${REDIS_URL}; node ${process.version}; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
  );
  const gatewayId = 'bench-gw';
  const instanceId = randomUUID();
  const userIds = Array.from({ length: USERS }, (_, i) => `user-${i}`);
  try {
    await registry.acquireGateway({ gatewayId, instanceId, ttlMs: 60_000 });

    const registerMs = await timed(USERS, CONCURRENCY, (i) =>
      registry.registerDevice({
        userId: userIds[i] as string,
        deviceId: 'phone',
        gatewayId,
        gatewayInstanceId: instanceId,
        connectionId: `conn-${i}`,
        ttlMs: 600_000,
      }),
    );
    console.log(`registerDevice:        ${rate(USERS, registerMs)} (${USERS} devices, ${CONCURRENCY} in flight)`);

    const batches = Math.ceil(USERS / REFRESH_BATCH);
    const refreshMs = await timed(batches, 4, (b) =>
      registry.refreshDevices(
        userIds.slice(b * REFRESH_BATCH, (b + 1) * REFRESH_BATCH).map((userId, j) => ({
          userId,
          deviceId: 'phone',
          connectionId: `conn-${b * REFRESH_BATCH + j}`,
          ttlMs: 600_000,
        })),
      ),
    );
    console.log(`refreshDevices:        ${rate(USERS, refreshMs)} device refreshes (batches of ${REFRESH_BATCH})`);

    const heartbeats = 2_000;
    const heartbeatMs = await timed(heartbeats, 16, () =>
      registry.refreshGateway({ gatewayId, instanceId, ttlMs: 60_000 }),
    );
    console.log(
      `refreshGateway:        ${rate(heartbeats, heartbeatMs)} lease heartbeats (each keeps all of a gateway's devices online)`,
    );

    const groups = Array.from({ length: LOOKUPS }, () => {
      const start = Math.floor(Math.random() * Math.max(1, USERS - GROUP_SIZE));
      // Half online members, half never seen: fan-out's typical mix of online routes and push.
      return userIds
        .slice(start, start + GROUP_SIZE / 2)
        .concat(Array.from({ length: GROUP_SIZE / 2 }, (_, k) => `absent-${k}`));
    });
    const latenciesMs: number[] = [];
    for (const group of groups.slice(0, 50)) {
      const startedMs = performance.now();
      await registry.onlineDevicesOfUsers(group);
      latenciesMs.push(performance.now() - startedMs);
    }
    latenciesMs.sort((a, b) => a - b);
    const percentile = (p: number): string => (latenciesMs[Math.floor((latenciesMs.length - 1) * p)] ?? 0).toFixed(1);
    console.log(
      `onlineDevicesOfUsers:  one at a time, ${GROUP_SIZE} users: p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms`,
    );
    let routed = 0;
    const lookupMs = await timed(LOOKUPS, 4, async (i) => {
      const result = await registry.onlineDevicesOfUsers(groups[i] as string[]);
      for (const devices of result.values()) routed += devices.length;
    });
    console.log(
      `onlineDevicesOfUsers:  ${rate(LOOKUPS, lookupMs)} batch lookups of ${GROUP_SIZE} users ` +
        `(${rate(LOOKUPS * GROUP_SIZE, lookupMs)} users; ${(lookupMs / LOOKUPS).toFixed(1)} ms each at 4 in flight; ${routed} devices found)`,
    );

    const unregisterMs = await timed(USERS, CONCURRENCY, (i) =>
      registry.unregisterDevice({ userId: userIds[i] as string, deviceId: 'phone', connectionId: `conn-${i}` }),
    );
    console.log(`unregisterDevice:      ${rate(USERS, unregisterMs)}`);
    const memory = /used_memory_human:(\S+)/.exec(await admin.info('memory'))?.[1] ?? '?';
    console.log(`Redis used_memory after the run (before cleanup): ${memory}`);
  } finally {
    await registry.close();
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 5_000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
    admin.disconnect();
  }
}

await main();
