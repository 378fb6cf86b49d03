/**
 * Issue 15: an upgrade completed after an await must not be closed by uWS itself. A bare uWS app (no
 * chatmesh) whose `open` handler mallocs a small buffer with the byte 0x14 in it, as a busy handler can:
 * uWS 20.30's `res.cork()` misreads that byte as "Connection: close, response done" and shuts the new
 * WebSocket down (uNetworking/uWebSockets#1928); `upgradeAfterAwait` does not cork, so every socket lives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { us_listen_socket, us_socket } from 'uWebSockets.js';
import { WebSocket } from 'ws';
import { readHandshake, upgradeAfterAwait, type UpgradeHandshake } from '../internal/async-upgrade.js';
import { pending, type PendingResponse } from '../internal/http.js';
import { loadUws } from '../native-uws.js';

// The build the gateway itself would load here, so the canary below speaks about that build.
const { uWS } = loadUws();

interface Data {
  closed: boolean;
}

type Upgrade = (state: PendingResponse, data: Data, handshake: UpgradeHandshake) => void;

/** Buffers the open handler allocated: kept alive so the allocator cannot hand their memory out again. */
const kept: Buffer[] = [];

async function serve(upgrade: Upgrade): Promise<{ port: number; close: () => void }> {
  const app = uWS.App();
  app.ws<Data>('/ws', {
    idleTimeout: 60,
    upgrade: (res, req, context) => {
      const state = pending(res);
      const handshake = readHandshake(req, context);
      // The gateway verifies a token and reads the device list here.
      void new Promise((resolve) => setImmediate(resolve)).then(() => {
        if (!state.aborted) upgrade(state, { closed: false }, handshake);
      });
    },
    open: (ws) => {
      // 88 bytes is the size of the tail uWS's in-place shrink of the socket gives back to malloc.
      kept.push(Buffer.allocUnsafeSlow(88).fill(0x14));
      const data = ws.getUserData();
      // After open and the upgrade's own call returned (where the misread closes the socket).
      setImmediate(() => {
        if (!data.closed) ws.send(JSON.stringify({ type: 'hello' }));
      });
    },
    close: (ws) => {
      ws.getUserData().closed = true;
    },
  });
  const listen = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('listen failed')))),
  );
  return {
    port: uWS.us_socket_local_port(listen as unknown as us_socket),
    close: () => uWS.us_listen_socket_close(listen),
  };
}

/** Opens `count` sockets at once; how many got `hello` (the others got 101, then a close). */
async function hellos(port: number, count: number): Promise<number> {
  const outcomes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          const timer = setTimeout(() => finish(false), 5_000);
          const finish = (hello: boolean): void => {
            clearTimeout(timer);
            ws.terminate();
            resolve(hello);
          };
          ws.on('message', () => finish(true));
          ws.on('close', () => finish(false));
          ws.on('error', () => finish(false));
        }),
    ),
  );
  return outcomes.filter(Boolean).length;
}

test('an upgrade after an await, uncorked, keeps every socket: each gets its hello', async () => {
  const server = await serve(upgradeAfterAwait);
  try {
    assert.equal(await hellos(server.port, 50), 50);
  } finally {
    server.close();
  }
});

test('the uWS bug it avoids: the same upgrade inside res.cork() loses sockets after their 101', async () => {
  // If this fails, the installed uWS no longer has the bug (uNetworking/uWebSockets#1929): upgradeAfterAwait
  // may cork again, which writes the 101 in one piece.
  const corked: Upgrade = (state, data, handshake) =>
    state.res.cork(() =>
      state.res.upgrade(data, handshake.key, handshake.protocol, handshake.extensions, handshake.context),
    );
  const server = await serve(corked);
  try {
    const got = await hellos(server.port, 50);
    assert.ok(got < 50, `every corked upgrade survived (${got} of 50)`);
  } finally {
    server.close();
  }
});
