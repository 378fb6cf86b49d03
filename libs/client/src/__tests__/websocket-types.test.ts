import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import type { WebSocketFactory, WebSocketLike } from '../index.js';

// These lines are the test: `npm run check-types` fails if either WebSocket needs a cast to be a WebSocketLike.
const fromWs: WebSocketFactory = (url) => new NodeWebSocket(url);
const fromBrowser: WebSocketFactory = (url) => new globalThis.WebSocket(url);
// @ts-expect-error an object without the WebSocket API is not a WebSocketLike (the type is not `any`)
const notASocket: WebSocketLike = { readyState: 1, send: (_data: string) => undefined };

test("the ws package's WebSocket is a WebSocketLike without a cast, and the SDK's handlers read its events", async () => {
  assert.equal(typeof fromBrowser, 'function');
  assert.equal(notASocket.readyState, 1);
  const server = new WebSocketServer({ port: 0 });
  server.on('connection', (peer) => {
    peer.send('hi');
    peer.close(4010, 'replaced');
  });
  const { port } = server.address() as { port: number };
  const socket = fromWs(`ws://127.0.0.1:${port}`);
  const seen: unknown[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.onmessage = (event) => seen.push(String(event.data));
    socket.onclose = (event) => {
      seen.push([event.code, event.reason]);
      resolve();
    };
  });
  await closed;
  server.close();
  assert.deepEqual(seen, ['hi', [4010, 'replaced']]);
});
