import type { ServerFrame } from '@chatmesh/protocol';
import type { TokenBucket } from '@chatmesh/rate-limit';
import type { WebSocket } from 'uWebSockets.js';
import type { BroadcastJoin, BroadcastMember } from './broadcast-hub.js';
import { LOCAL_REQUEST_PREFIX, type FrameSender } from './frame-commands.js';
import { InboxStream, type InboxStreamContext, type InboxStreamOwner } from './inbox-stream.js';

/** What every session of a gateway shares (one object per gateway). */
export interface SessionHub {
  readonly gatewayId: string;
  /** `<instanceId>-`: a connection id is this prefix and the connection's number in hex (UUID characters only). */
  readonly connectionIdPrefix: string;
  readonly streams: InboxStreamContext;
  sendFrames(session: Session, frames: readonly ServerFrame[]): boolean;
  streamFailed(session: Session, error: unknown): void;
  lifecycleSent(session: Session, chatId: string, chatSeq: number): void;
  catchUpBroadcasts(session: Session): Promise<void>;
  beforeOwnRemoval(session: Session, chatId: string, removedSeq: number): Promise<void>;
}

/** Refused frames of a connection in a minute (objects only for connections that had one). */
export interface ViolationWindow {
  count: number;
  startMs: number;
}

/** A small token bucket per connection for typing frames. */
export interface TypingBucket {
  readonly tokens: TokenBucket;
  /** Refused typing frames; every 10th counts as a violation (abuse, not a burst). */
  refused: number;
}

/** When the upgrade was written (an object, only until `hello`: a number field would box a double per session). */
export interface OpeningClock {
  readonly upgradedAtMs: number;
}

/** The uWS user data of a gateway socket. */
export interface UserData {
  readonly session: Session;
}

/**
 * One authenticated socket. Kept small on purpose (a gateway holds ~100K of them; docs "Connection
 * density" in load-tests/README.md): behaviour lives in methods and in the {@link SessionHub} shared by
 * every session, so a socket owns no closure, no timer (token expiry is one `ExpiryWheel`) and no
 * promise while idle; its connection id is built from a number when needed.
 */
export class Session implements FrameSender, InboxStreamOwner, BroadcastMember {
  ws: WebSocket<UserData> | null = null;
  /** Broadcast chats (big groups) this socket follows; null while it follows none. */
  broadcastJoins: Map<string, BroadcastJoin> | null = null;
  readonly stream: InboxStream;
  /** The frames (and the open) of this socket in order; null when nothing is running. */
  chain: Promise<void> | null = null;
  /** Refused frames in the current minute, created at the first one. */
  violations: ViolationWindow | null = null;
  closed = false;
  /** The token's expiry slot in the gateway's wheel (`ExpiryWheel.slotOf`), or -1 when it is not timed. */
  expirySlot = -1;
  requestCounter = 0;
  /** The connection's typing bucket, created at its first typing frame. */
  typing: TypingBucket | null = null;
  /** Set at the upgrade, dropped once `hello` is sent: a socket that closes while it is set never had a session. */
  opening: OpeningClock | null = null;

  constructor(
    private readonly hub: SessionHub,
    readonly userId: string,
    readonly deviceId: string,
    private readonly connectionNumber: number,
  ) {
    this.stream = new InboxStream(hub.streams, this);
  }

  get gatewayId(): string {
    return this.hub.gatewayId;
  }

  /** Unique across gateways and restarts (the instance id is a UUID); identifies this socket in presence. */
  get connectionId(): string {
    return `${this.hub.connectionIdPrefix}${this.connectionNumber.toString(16)}`;
  }

  /** A request id for a record the gateway produces on this connection's behalf (`local:<connectionId>:<n>`). */
  nextLocalRequestId(): string {
    return `${LOCAL_REQUEST_PREFIX}${this.connectionId}:${++this.requestCounter}`;
  }

  sendFrames(frames: readonly ServerFrame[]): boolean {
    return this.hub.sendFrames(this, frames);
  }

  streamFailed(error: unknown): void {
    this.hub.streamFailed(this, error);
  }

  lifecycleSent(chatId: string, chatSeq: number): void {
    this.hub.lifecycleSent(this, chatId, chatSeq);
  }

  catchUpBroadcasts(): Promise<void> {
    return this.hub.catchUpBroadcasts(this);
  }

  beforeOwnRemoval(chatId: string, removedSeq: number): Promise<void> {
    return this.hub.beforeOwnRemoval(this, chatId, removedSeq);
  }

  subscribeTopic(topic: string): boolean {
    if (this.closed || this.ws === null) return false;
    return this.ws.subscribe(topic);
  }

  unsubscribeTopic(topic: string): void {
    if (!this.closed && this.ws !== null) this.ws.unsubscribe(topic);
  }

  /** Runs `task` after every earlier one of this socket; the chain is dropped again once it is idle. */
  runInOrder(task: () => Promise<void>, onError: (error: unknown) => void): Promise<void> {
    const next = (this.chain ?? Promise.resolve()).then(task).catch(onError);
    this.chain = next;
    void next.then(() => {
      if (this.chain === next) this.chain = null;
    });
    return next;
  }
}
