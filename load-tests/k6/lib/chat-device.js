// One chatmesh device as a k6 VU drives it: a WebSocket to the gateway, the protocol frames spoken directly
// (hello, sync, send, ack), and the metrics every scenario reports. Plain k6 JavaScript (not Node): it runs
// inside k6, started by load-tests/k6/run.ts, which prepares the users, chats and tokens.
//
// Delivery latency is measured at the receiving socket from a timestamp the sender puts in the body
// (`t:<epoch ms>;n:<n>`): sender and receiver are VUs of the same k6 process, so one clock.
import { WebSocket } from 'k6/websockets';
import { Counter, Rate, Trend } from 'k6/metrics';

export const metrics = {
  /** send → messageReceived at the peer's socket, for frames that came live (after syncDone). */
  delivery: new Trend('chat_delivery_ms', true),
  /** The same for frames that came in an inbox replay (the peer was offline or reconnecting). */
  replayDelivery: new Trend('chat_replay_delivery_ms', true),
  sendAck: new Trend('chat_send_ack_ms', true),
  connectHello: new Trend('chat_connect_hello_ms', true),
  connectSyncDone: new Trend('chat_connect_syncdone_ms', true),
  reconnectHello: new Trend('chat_reconnect_hello_ms', true),
  reconnectSyncDone: new Trend('chat_reconnect_syncdone_ms', true),
  sent: new Counter('chat_sent'),
  resent: new Counter('chat_resent'),
  acked: new Counter('chat_acked'),
  rejected: new Counter('chat_rejected'),
  delivered: new Counter('chat_delivered'),
  duplicates: new Counter('chat_duplicates'),
  echoes: new Counter('chat_echoes'),
  errorFrames: new Counter('chat_error_frames'),
  unexpectedCloses: new Counter('chat_unexpected_closes'),
  connectFailures: new Counter('chat_connect_failures'),
  /** One sample per acked send (false) and per refusal, error frame, failed connect or unexpected close (true). */
  errors: new Rate('chat_errors'),
};

/**
 * Runs one device until `plan.closeAtMs`. `plan`: `{ wsUrl, user: {userId, peerId, chatId, token},
 * sendEveryMs, sendFromMs, sendUntilMs, closeAtMs, reconnectAtMs: number[], reconnectJitterMs,
 * ackEveryMs, tags }` (times are epoch ms). Sends go only to the peer's direct chat, one every
 * `sendEveryMs` while connected and synced; at each `reconnectAtMs` the socket is closed (after acking
 * what it has) and opened again, and sends not acked yet are sent again with the same clientMessageId
 * (the server answers a retry with the original ack and never stores it twice).
 */
export function runDevice(plan) {
  const { user, tags } = plan;
  const state = {
    ws: null,
    synced: false,
    connects: 0,
    highestInbox: 0,
    ackedInbox: 0,
    nextMessage: 0,
    /** clientMessageId → epoch ms of its first send, until the server acks it. */
    outbox: new Map(),
    ackedIds: new Set(),
    receivedIds: new Set(),
    done: false,
  };

  const flushAck = () => {
    if (state.ws === null || state.ws.readyState !== 1 || state.highestInbox <= state.ackedInbox) return;
    state.ackedInbox = state.highestInbox;
    state.ws.send(JSON.stringify({ type: 'ack', upToInboxSeq: state.highestInbox }));
  };

  const sendMessage = (clientMessageId, sentAtMs, n) => {
    state.ws.send(
      JSON.stringify({
        type: 'send',
        requestId: clientMessageId,
        chatId: user.chatId,
        clientMessageId,
        body: `t:${sentAtMs};n:${n}`,
      }),
    );
  };

  const onFrame = (frame, connectStartedMs, reconnect) => {
    const now = Date.now();
    if (typeof frame.inboxSeq === 'number' && frame.inboxSeq > state.highestInbox) state.highestInbox = frame.inboxSeq;
    switch (frame.type) {
      case 'hello':
        (reconnect ? metrics.reconnectHello : metrics.connectHello).add(now - connectStartedMs, tags);
        return;
      case 'syncDone':
        (reconnect ? metrics.reconnectSyncDone : metrics.connectSyncDone).add(now - connectStartedMs, tags);
        state.synced = true;
        // What was sent but not acked before a reconnect goes again, as the SDK's outbox does.
        for (const [clientMessageId, sentAtMs] of state.outbox) {
          sendMessage(clientMessageId, sentAtMs, Number(clientMessageId.slice(clientMessageId.lastIndexOf('.') + 1)));
          metrics.resent.add(1, tags);
        }
        flushAck();
        return;
      case 'ack': {
        const sentAtMs = state.outbox.get(frame.requestId);
        if (sentAtMs === undefined || state.ackedIds.has(frame.clientMessageId)) return;
        state.outbox.delete(frame.requestId);
        state.ackedIds.add(frame.clientMessageId);
        metrics.sendAck.add(now - sentAtMs, tags);
        metrics.acked.add(1, tags);
        metrics.errors.add(false, tags);
        return;
      }
      case 'reject':
        state.outbox.delete(frame.requestId);
        metrics.rejected.add(1, { ...tags, code: String(frame.code) });
        metrics.errors.add(true, tags);
        return;
      case 'error':
        metrics.errorFrames.add(1, { ...tags, code: String(frame.code) });
        metrics.errors.add(true, tags);
        return;
      case 'messageReceived': {
        if (frame.by !== undefined && frame.by.userId === user.userId) {
          metrics.echoes.add(1, tags);
          return;
        }
        if (state.receivedIds.has(frame.clientMessageId)) {
          metrics.duplicates.add(1, tags);
          return;
        }
        state.receivedIds.add(frame.clientMessageId);
        metrics.delivered.add(1, tags);
        const match = /^t:(\d+);/.exec(String(frame.body));
        if (match !== null)
          (state.synced ? metrics.delivery : metrics.replayDelivery).add(now - Number(match[1]), tags);
        return;
      }
      default:
        return;
    }
  };

  const connect = () => {
    const reconnect = state.connects > 0;
    state.connects++;
    state.synced = false;
    const connectStartedMs = Date.now();
    const ws = new WebSocket(`${plan.wsUrl}?access_token=${user.token}`);
    state.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (event) => {
      if (__ENV.CHATMESH_K6_DEBUG) console.log(`${user.userId} #${state.connects}: ${event.data}`);
      onFrame(JSON.parse(event.data), connectStartedMs, reconnect);
    };
    ws.onerror = () => {
      if (!opened) {
        metrics.connectFailures.add(1, tags);
        metrics.errors.add(true, tags);
      }
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.synced = false;
      if (state.done) return;
      // Closed by the server or the network: count it and come back, as a client would.
      metrics.unexpectedCloses.add(1, tags);
      metrics.errors.add(true, tags);
      setTimeout(connect, 500);
    };
  };

  const closeSocket = () => {
    const ws = state.ws;
    if (ws === null) return;
    flushAck();
    state.ws = null;
    state.synced = false;
    ws.close();
  };

  connect();
  const sendOne = () => {
    const now = Date.now();
    if (now < plan.sendFromMs || now >= plan.sendUntilMs || !state.synced || state.ws === null) return;
    const n = state.nextMessage++;
    const clientMessageId = `${user.userId}.${n}`;
    state.outbox.set(clientMessageId, now);
    sendMessage(clientMessageId, now, n);
    metrics.sent.add(1, tags);
  };
  // Each device starts its interval at a random phase: VUs that start together would otherwise all send in
  // the same millisecond every interval, a burst no real population makes (and that the latency would show).
  let sender = null;
  const phase = setTimeout(
    () => {
      sender = setInterval(sendOne, plan.sendEveryMs);
    },
    Math.floor(Math.random() * plan.sendEveryMs),
  );
  const acker = setInterval(flushAck, plan.ackEveryMs);
  for (const at of plan.reconnectAtMs) {
    const jitter = plan.reconnectJitterMs > 0 ? Math.floor(Math.random() * plan.reconnectJitterMs) : 0;
    setTimeout(
      () => {
        if (state.done) return;
        closeSocket();
        setTimeout(connect, jitter);
      },
      Math.max(0, at - Date.now()),
    );
  }
  setTimeout(
    () => {
      state.done = true;
      clearTimeout(phase);
      if (sender !== null) clearInterval(sender);
      clearInterval(acker);
      closeSocket();
    },
    Math.max(0, plan.closeAtMs - Date.now()),
  );
}
