/**
 * The chat page (browser). Plain DOM on @chatmesh/client: sign in with a name (development token from
 * `POST /v1/dev/token`), create direct chats and groups by member names, chat live. The device keeps its
 * chats in localStorage (it acks what it stored, so a reload of the same device resumes after it), and its
 * outbox too, so unsent messages survive a reload.
 *
 * Issue 7: {@link applyReceipt} turns receipts into ticks (✓ sent, ✓✓ delivered, blue ✓✓ read, ! failed),
 * the open chat is reported read while its messages are on screen, {@link showTyping} shows the typing
 * line, {@link showPresence} online / last seen of the open chat's other members, `readPointer` (a read
 * on another device) clears unread counts, and two switches set the privacy settings.
 *
 * Issue 16: the page registers its device with the local push inbox and lists the user's latest wake-ups.
 * Issue 17: a file or image (📎 button or drag-and-drop on the chat) is uploaded by reference ({@link sendFile}):
 * the gateway signs a PUT after checking size and type, the page uploads straight to the store with a progress
 * bar, then sends a message carrying the reference. Images show as thumbnails that open a viewer; other files as
 * name and size, downloaded through a presigned URL.
 *
 * The session survives a reload (the user and device are remembered until "Sign out"); a message the server
 * refused, or that stayed unsent for {@link PENDING_TIMEOUT_MS}, shows "!" with a Retry button (same client message
 * id, so a retry can never show twice); messages are grouped under day separators; the composer takes several lines
 * (Enter sends, Shift+Enter breaks the line).
 */
import {
  createChatClient,
  createLocalStorageOutboxStorage,
  type ChatClient,
  type ChatClientEvents,
  type PushWakeUp,
} from '@chatmesh/client';

type Status = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/** An attachment reference as messages carry it (docs/protocol.md, Attachments). */
interface AttachmentView {
  readonly attachmentId: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
  readonly sha256?: string;
  readonly fileName?: string;
}

interface MessageView {
  /** The clientMessageId: the same for the optimistic copy, the ack and the echo. */
  readonly key: string;
  seq: number | null;
  readonly by: string;
  readonly body: string;
  readonly atMs: number;
  status: Status;
  readonly system?: boolean;
  attachments?: AttachmentView[];
}

interface ChatView {
  readonly chatId: string;
  kind: 'direct' | 'group';
  name: string | null;
  members: string[];
  messages: MessageView[];
  unread: number;
}

const STATUS_RANK: Record<Status, number> = { failed: -1, pending: 0, sent: 1, delivered: 2, read: 3 };
const MAX_MESSAGES_PER_CHAT = 300;
/**
 * A send still unacknowledged after this long is shown as failed, with Retry; the SDK keeps trying meanwhile and a
 * late ack turns it to sent. `?pendingTimeoutMs=` in the page's URL changes it (the browser test uses a short one).
 */
const PENDING_TIMEOUT_MS = Number(new URLSearchParams(location.search).get('pendingTimeoutMs')) || 30_000;
const SESSION_KEY = 'chatmesh.page.session';

const $ = <T extends HTMLElement = HTMLElement>(testId: string): T => {
  const el = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!el) throw new Error(`missing element ${testId}`);
  return el;
};

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<{ className: string; text: string; testId: string }> = {},
  ...children: Array<Node | null>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.testId) el.dataset['testid'] = props.testId;
  for (const child of children) if (child) el.append(child);
  return el;
}

const state = {
  me: '',
  device: '',
  client: undefined as ChatClient | undefined,
  chats: new Map<string, ChatView>(),
  openChatId: undefined as string | undefined,
  typing: new Map<string, { userId: string; untilMs: number }[]>(),
  presence: new Map<string, { online: boolean; lastSeenMs: number | null }>(),
};

// ---- storage: the device's copy of its chats ----

const storeKey = (): string => `chatmesh.page.${state.me}.${state.device}`;
let saveTimer: ReturnType<typeof setTimeout> | undefined;

function saveSoon(): void {
  saveTimer ??= setTimeout(() => {
    saveTimer = undefined;
    localStorage.setItem(storeKey(), JSON.stringify([...state.chats.values()]));
  }, 100);
}

function loadChats(): void {
  try {
    const chats = JSON.parse(localStorage.getItem(storeKey()) ?? '[]') as ChatView[];
    for (const chat of chats) state.chats.set(chat.chatId, chat);
  } catch {
    localStorage.removeItem(storeKey());
  }
}

// ---- sign in ----

async function fetchDevToken(userId: string, deviceId: string): Promise<string> {
  const response = await fetch('/v1/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, deviceId }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; accessToken?: string; message?: string };
  const token = body.token ?? body.accessToken;
  if (!response.ok || !token) throw new Error(body.message ?? `the token endpoint answered ${response.status}`);
  return token;
}

function signIn(event: SubmitEvent): void {
  event.preventDefault();
  const user = $<HTMLInputElement>('user').value.trim();
  const device = $<HTMLInputElement>('device').value.trim() || `browser-${Math.random().toString(36).slice(2, 6)}`;
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(user) || !/^[A-Za-z0-9._@-]{1,64}$/.test(device)) {
    $('login-error').textContent = 'Names are 1-64 letters, digits, dots, dashes or @.';
    return;
  }
  $<HTMLButtonElement>('connect').disabled = true;
  $('login-error').textContent = '';
  fetchDevToken(user, device)
    .then(() => start(user, device))
    .catch((error: Error) => {
      $('login-error').textContent = `Could not sign in: ${error.message}`;
      $<HTMLButtonElement>('connect').disabled = false;
    });
}

function start(user: string, device: string): void {
  state.me = user;
  state.device = device;
  localStorage.setItem('chatmesh.page.lastUser', user);
  localStorage.setItem('chatmesh.page.lastDevice', device);
  localStorage.setItem(SESSION_KEY, JSON.stringify({ user, device }));
  loadChats();
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${user} · ${device}`;
  $('sign-out').hidden = false;
  const client = createChatClient({
    url: location.origin,
    deviceId: device,
    tokenProvider: () => fetchDevToken(user, device),
    storage: createLocalStorageOutboxStorage({ key: `chatmesh.outbox.${user}.${device}` }),
    // After a syncGap (inbox entries expired while away) the SDK fetches each chat's history after what is stored.
    historyPosition: (chatId) => {
      const seqs = (state.chats.get(chatId)?.messages ?? []).map((m) => m.seq ?? 0);
      return seqs.length === 0 ? undefined : Math.max(...seqs);
    },
  });
  state.client = client;
  wire(client);
  renderChatList();
  loadSettings(client);
  startPushInbox(client);
}

/** A reload resumes the remembered session (its token is fetched again), or shows the sign-in form. */
function resumeSession(): void {
  let session: { user?: unknown; device?: unknown } = {};
  try {
    session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? '{}') as typeof session;
  } catch {
    localStorage.removeItem(SESSION_KEY);
  }
  if (typeof session.user !== 'string' || typeof session.device !== 'string') return;
  const { user, device } = session as { user: string; device: string };
  fetchDevToken(user, device)
    .then(() => start(user, device))
    .catch((error: Error) => {
      $('login-error').textContent = `Could not resume the session of ${user}: ${error.message}`;
    });
}

/** Forgets the session on this browser (its chats and outbox stay stored for the next sign-in of that device). */
function signOut(): void {
  localStorage.removeItem(SESSION_KEY);
  void state.client?.close();
  location.reload();
}

// ---- push wake-ups (the local push inbox of embedded mode) ----

const PUSH_INBOX_POLL_MS = 5_000;

/**
 * Registers this page's device with the local push inbox provider, then shows the user's latest wake-ups: what a
 * phone would have been woken with (the chat and the badge, never the message) while this device or another of the
 * user's was offline.
 */
function startPushInbox(client: ChatClient): void {
  client
    .registerPushChannel({ provider: 'inbox' })
    .then(() => {
      $('push-inbox').hidden = false;
      const poll = () =>
        client
          .listPushWakeUps(10)
          .then(renderWakeUps)
          .catch((error: Error) => console.warn(`[chatmesh] push inbox: ${error.message}`));
      void poll();
      setInterval(() => void poll(), PUSH_INBOX_POLL_MS);
    })
    .catch((error: Error) => console.warn(`[chatmesh] push channel: ${error.message}`));
}

function renderWakeUps(wakeUps: readonly PushWakeUp[]): void {
  const list = $('wake-ups');
  list.replaceChildren(
    ...(wakeUps.length === 0
      ? [h('li', { className: 'when', text: 'none yet: they arrive while a device of yours is offline' })]
      : wakeUps.map((w) => {
          const chat = w.chatId === null ? undefined : state.chats.get(w.chatId);
          const title = chat ? chatTitle(chat) : (w.chatId ?? 'chatmesh');
          return h(
            'li',
            { testId: 'wake-up' },
            document.createTextNode(`${w.deviceId}: ${title} · badge ${w.badge}`),
            h('span', { className: 'when', text: new Date(w.atMs).toLocaleTimeString() }),
          );
        })),
  );
}

// ---- privacy settings ----

function loadSettings(client: ChatClient): void {
  client
    .getSettings()
    .then((settings) => {
      $<HTMLInputElement>('read-receipts').checked = settings.readReceipts;
      $<HTMLInputElement>('presence-visible').checked = settings.presenceVisible;
      $('privacy').hidden = false;
    })
    .catch((error: Error) => console.warn(`[chatmesh] settings: ${error.message}`));
}

function changeSetting(name: 'readReceipts' | 'presenceVisible', input: HTMLInputElement): void {
  input.disabled = true;
  state.client
    ?.updateSettings({ [name]: input.checked })
    .catch((error: Error) => {
      input.checked = !input.checked;
      console.warn(`[chatmesh] settings: ${error.message}`);
    })
    .finally(() => (input.disabled = false));
}

// ---- SDK events ----

function wire(client: ChatClient): void {
  client.on('connected', () => setStatus('live', 'online'));
  client.on('disconnected', (e) =>
    setStatus(
      'down',
      e.willReconnect ? `reconnecting in ${Math.round((e.retryInMs ?? 0) / 100) / 10} s` : 'disconnected',
    ),
  );
  client.on('chatCreated', (f) => {
    const chat = ensureChat(f.chatId);
    chat.kind = f.kind;
    chat.name = f.name;
    chat.members = f.members.map((m) => m.userId);
    addSystem(
      chat,
      f.seq,
      f.kind === 'group' ? `${f.by.userId} created the group "${f.name ?? ''}"` : 'chat started',
      f.serverTimeMs,
    );
  });
  client.on('chatUpdated', (f) => {
    const chat = ensureChat(f.chatId);
    if (f.name !== null) chat.name = f.name;
    addSystem(chat, f.seq, `${f.by.userId} renamed the group to "${f.name ?? ''}"`, f.serverTimeMs);
  });
  client.on('membersAdded', (f) => {
    const chat = ensureChat(f.chatId);
    chat.members = [...new Set([...chat.members, ...f.members.map((m) => m.userId)])];
    addSystem(chat, f.seq, `${f.by.userId} added ${f.members.map((m) => m.userId).join(', ')}`, f.serverTimeMs);
  });
  client.on('membersRemoved', (f) => {
    const chat = ensureChat(f.chatId);
    chat.members = chat.members.filter((m) => !f.userIds.includes(m));
    addSystem(chat, f.seq, `${f.userIds.join(', ')} ${f.reason === 'left' ? 'left' : 'removed'}`, f.serverTimeMs);
  });
  client.on('messageReceived', onMessage);
  client.on('receipt', applyReceipt);
  client.on('readPointer', applyReadPointer);
  client.on('typing', showTyping);
  client.on('presence', showPresence);
  client.on('error', (error) => console.warn(`[chatmesh] ${error.code}: ${error.message}`));
  client.on('historyGap', (gap) =>
    console.warn(
      `[chatmesh] chat ${gap.chatId}: messages ${gap.fromSeq}-${gap.toSeq} are no longer kept by the server`,
    ),
  );
}

function setStatus(kind: 'live' | 'down', text: string): void {
  const status = $('status');
  status.querySelector('.dot')?.setAttribute('class', `dot ${kind}`);
  const label = status.querySelector('.status-text');
  if (label) label.textContent = text;
}

function ensureChat(chatId: string): ChatView {
  let chat = state.chats.get(chatId);
  if (!chat) {
    chat = {
      chatId,
      kind: chatId.startsWith('dm:') ? 'direct' : 'group',
      name: null,
      members: [],
      messages: [],
      unread: 0,
    };
    state.chats.set(chatId, chat);
  }
  return chat;
}

function addSystem(chat: ChatView, seq: number, text: string, atMs: number): void {
  pushMessage(chat, { key: `sys:${seq}`, seq, by: '', body: text, atMs, status: 'sent', system: true });
}

function onMessage(f: ChatClientEvents['messageReceived']): void {
  const chat = ensureChat(f.chatId);
  const existing = chat.messages.find((m) => m.key === f.clientMessageId && m.by === f.by.userId);
  if (existing) {
    existing.seq = f.seq;
    if (STATUS_RANK[existing.status] < STATUS_RANK.sent) existing.status = 'sent';
    renderIfOpen(chat);
    saveSoon();
    return;
  }
  // Counted before the list is drawn (pushMessage draws it), so the badge is right from the first message.
  if (f.by.userId !== state.me) {
    clearTyping(f.chatId, f.by.userId);
    if (state.openChatId === f.chatId && document.visibilityState === 'visible')
      state.client?.markRead(f.chatId, f.seq);
    else chat.unread += 1;
  }
  pushMessage(chat, {
    key: f.clientMessageId,
    seq: f.seq,
    by: f.by.userId,
    body: f.body ?? (f.envelopes.length > 0 ? '🔒 encrypted message' : ''),
    atMs: f.serverTimeMs,
    status: 'sent',
    ...(f.attachments.length > 0 ? { attachments: f.attachments } : {}),
  });
}

function pushMessage(chat: ChatView, message: MessageView): void {
  if (message.seq !== null && chat.messages.some((m) => m.seq === message.seq && m.key === message.key)) return;
  chat.messages.push(message);
  chat.messages.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  if (chat.messages.length > MAX_MESSAGES_PER_CHAT)
    chat.messages.splice(0, chat.messages.length - MAX_MESSAGES_PER_CHAT);
  renderChatList();
  renderIfOpen(chat);
  saveSoon();
}

/**
 * A receipt raises the state of my messages in its range, never lowers it. Per-member receipts of a
 * group are not the message's state (only the aggregate is), except a failure, which is shown.
 */
function applyReceipt(f: ChatClientEvents['receipt']): void {
  const chat = state.chats.get(f.chatId);
  if (!chat) return;
  if (f.byUserId !== null && f.status !== 'failed') return;
  for (const m of chat.messages) {
    if (m.by !== state.me || m.seq === null || m.seq < f.fromSeq || m.seq > f.upToSeq) continue;
    const forward =
      f.status === 'failed'
        ? m.status === 'sent' || m.status === 'pending'
        : STATUS_RANK[f.status] > STATUS_RANK[m.status];
    if (forward) m.status = f.status;
  }
  renderIfOpen(chat);
  saveSoon();
}

/** I read the chat on some device (maybe this one): what is up to that seq is not unread any more. */
function applyReadPointer(f: ChatClientEvents['readPointer']): void {
  const chat = state.chats.get(f.chatId);
  if (!chat) return;
  const unread = chat.messages.filter((m) => !m.system && m.by !== state.me && (m.seq ?? 0) > f.upToSeq).length;
  if (unread === chat.unread) return;
  chat.unread = Math.min(chat.unread, unread);
  renderChatList();
  saveSoon();
}

/** Reports the open chat read up to its last message, when the page is visible. */
function markOpenChatRead(): void {
  const chat = state.openChatId ? state.chats.get(state.openChatId) : undefined;
  if (!chat || document.visibilityState !== 'visible') return;
  const lastSeq = Math.max(0, ...chat.messages.filter((m) => m.by !== state.me).map((m) => m.seq ?? 0));
  if (lastSeq > 0) state.client?.markRead(chat.chatId, lastSeq);
  if (chat.unread > 0) {
    chat.unread = 0;
    renderChatList();
  }
}

/** Issue 7 hook: "bob is typing…" until the indicator expires. */
function showTyping(f: ChatClientEvents['typing']): void {
  if (f.userId === state.me) return;
  const list = (state.typing.get(f.chatId) ?? []).filter((t) => t.userId !== f.userId);
  if (f.typing) list.push({ userId: f.userId, untilMs: f.expiresAtMs });
  state.typing.set(f.chatId, list);
  renderTyping();
}

function clearTyping(chatId: string, userId: string): void {
  state.typing.set(
    chatId,
    (state.typing.get(chatId) ?? []).filter((t) => t.userId !== userId),
  );
  renderTyping();
}

/** Online / last seen of the open chat's other members (the header). */
function showPresence(f: ChatClientEvents['presence']): void {
  state.presence.set(f.userId, { online: f.online, lastSeenMs: f.lastSeenMs });
  const chat = state.openChatId ? state.chats.get(state.openChatId) : undefined;
  if (chat) renderHeader(chat);
}

// ---- commands ----

function createChat(event: SubmitEvent): void {
  event.preventDefault();
  const client = state.client;
  if (!client) return;
  const members = $<HTMLInputElement>('members')
    .value.split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== state.me);
  const name = $<HTMLInputElement>('group-name').value.trim();
  const error = $('chat-error');
  error.textContent = '';
  if (members.length === 0) {
    error.textContent = 'Name at least one other user.';
    return;
  }
  const done = (chatId: string): void => {
    $<HTMLInputElement>('members').value = '';
    $<HTMLInputElement>('group-name').value = '';
    const chat = ensureChat(chatId);
    if (chat.members.length === 0) chat.members = [state.me, ...members];
    if (name) chat.name = name;
    openChat(chatId);
  };
  const creation =
    members.length === 1 && !name
      ? client.createDirectChat(members[0]!).then((r) => r.chatId)
      : client.createGroup(name || members.join(', '), members).then((ack) => ack.chatId);
  creation.then(done).catch((e: Error & { serverCode?: string }) => {
    error.textContent = `Could not create the chat: ${e.serverCode ?? ''} ${e.message}`;
  });
}

function sendMessage(event: Event): void {
  event.preventDefault();
  const input = $<HTMLTextAreaElement>('message-input');
  const body = input.value.trim();
  const chatId = state.openChatId;
  const client = state.client;
  if (!body || !chatId || !client) return;
  input.value = '';
  fitComposer();
  const chat = ensureChat(chatId);
  const message: MessageView = {
    key: crypto.randomUUID(),
    seq: null,
    by: state.me,
    body,
    atMs: Date.now(),
    status: 'pending',
  };
  pushMessage(chat, message);
  client.setTyping(chatId, false);
  void deliver(chat, message);
}

/**
 * Sends one of my messages (again, for a retry: the same client message id, so the server stores it once) and
 * follows it: sent on the ack, failed on a refusal, or shown failed (with Retry) while it stays unacknowledged.
 */
async function deliver(chat: ChatView, message: MessageView): Promise<void> {
  const client = state.client;
  if (!client) return;
  const content = message.attachments?.length ? { attachments: message.attachments } : { body: message.body };
  const overdue = setTimeout(() => {
    if (message.status !== 'pending') return;
    message.status = 'failed';
    renderIfOpen(chat);
  }, PENDING_TIMEOUT_MS);
  try {
    const ack = await client.send(chat.chatId, content, { clientMessageId: message.key });
    message.seq = ack.seq;
    if (STATUS_RANK[message.status] < STATUS_RANK.sent) message.status = 'sent';
    chat.messages.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  } catch (error) {
    message.status = 'failed';
    const code = (error as { serverCode?: string }).serverCode;
    console.warn(`[chatmesh] send refused: ${code ?? ''} ${(error as Error).message}`);
  } finally {
    clearTimeout(overdue);
    renderIfOpen(chat);
    saveSoon();
  }
}

function retry(chat: ChatView, message: MessageView): void {
  message.status = 'pending';
  renderIfOpen(chat);
  void deliver(chat, message);
}

/** Enter sends, Shift+Enter starts a new line; the box grows with its text up to a few lines. */
function onComposerKey(event: KeyboardEvent): void {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  $<HTMLFormElement>('composer').requestSubmit();
}

function fitComposer(): void {
  const input = $<HTMLTextAreaElement>('message-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
}

/** The SDK sends at most one `typing: true` per 3 s while typing, and one `typing: false` on stop. */
function onComposerInput(): void {
  const chatId = state.openChatId;
  if (!chatId || !state.client) return;
  fitComposer();
  state.client.setTyping(chatId, $<HTMLTextAreaElement>('message-input').value.trim() !== '');
}

function openChat(chatId: string): void {
  if (state.openChatId && state.openChatId !== chatId) state.client?.setTyping(state.openChatId, false);
  state.openChatId = chatId;
  const chat = ensureChat(chatId);
  chat.unread = 0;
  markOpenChatRead();
  const others = chat.members.filter((m) => m !== state.me);
  if (others.length > 0) state.client?.subscribePresence(others);
  $<HTMLTextAreaElement>('message-input').disabled = false;
  $<HTMLButtonElement>('send').disabled = false;
  $<HTMLButtonElement>('attach').disabled = false;
  $<HTMLTextAreaElement>('message-input').focus();
  renderChatList();
  renderIfOpen(chat);
  renderTyping();
}

// ---- attachments: upload by reference, thumbnails, viewer ----

/** A development token for the HTTP API (the SDK keeps its own for the socket); renewed when refused. */
let apiToken: Promise<string> | undefined;

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    apiToken ??= fetchDevToken(state.me, state.device);
    const response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${await apiToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status === 401 && attempt === 0) {
      apiToken = undefined;
      continue;
    }
    if (!response.ok) throw new Error(`${String(json['code'] ?? response.status)}: ${String(json['message'] ?? '')}`);
    return json;
  }
}

async function sha256Base64(file: Blob): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** PUTs the file to a presigned URL with XMLHttpRequest, for its upload progress events. */
function putWithProgress(
  upload: { method: string; url: string; headers: Record<string, string> },
  file: Blob,
  onProgress: (fraction: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method, upload.url);
    for (const [name, value] of Object.entries(upload.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload answered ${xhr.status}`));
    xhr.onerror = () => reject(new Error('the upload failed'));
    xhr.send(file);
  });
}

function showProgress(fraction: number | null): void {
  const bar = $('upload-progress');
  bar.hidden = fraction === null;
  const fill = bar.firstElementChild as HTMLElement | null;
  if (fill) fill.style.width = `${Math.round((fraction ?? 0) * 100)}%`;
}

/** Local copies of my own uploads (shown at once) and download URLs already fetched, by attachment id. */
const blobUrls = new Map<string, Promise<string>>();

function downloadUrlOf(attachmentId: string): Promise<string> {
  let url = blobUrls.get(attachmentId);
  if (!url) {
    url = api('GET', `/v1/attachments/${encodeURIComponent(attachmentId)}`).then(
      (answer) => (answer['download'] as { url: string }).url,
    );
    url.catch(() => blobUrls.delete(attachmentId));
    blobUrls.set(attachmentId, url);
  }
  return url;
}

/**
 * Sends a file by reference: ask the gateway for an upload (size, type and SHA-256 are checked before anything is
 * signed), PUT the bytes straight to the store with a progress bar, then send a message that carries the reference.
 */
async function sendFile(file: File): Promise<void> {
  const chatId = state.openChatId;
  const client = state.client;
  if (!chatId || !client) return;
  const error = $('chat-error');
  error.textContent = '';
  const contentType = file.type || 'application/octet-stream';
  showProgress(0);
  try {
    const sha256 = await sha256Base64(file);
    const granted = await api('POST', '/v1/attachments', {
      sizeBytes: file.size,
      contentType,
      sha256,
      fileName: file.name.slice(0, 255),
    });
    const attachmentId = granted['attachmentId'] as string;
    await putWithProgress(
      granted['upload'] as { method: string; url: string; headers: Record<string, string> },
      file,
      showProgress,
    );
    blobUrls.set(attachmentId, Promise.resolve(URL.createObjectURL(file)));
    const ref: AttachmentView = {
      attachmentId,
      mimeType: contentType,
      sizeBytes: file.size,
      sha256,
      fileName: file.name.slice(0, 255),
    };
    const chat = ensureChat(chatId);
    const key = crypto.randomUUID();
    const message: MessageView = {
      key,
      seq: null,
      by: state.me,
      body: '',
      atMs: Date.now(),
      status: 'pending',
      attachments: [ref],
    };
    pushMessage(chat, message);
    await deliver(chat, message);
  } catch (e) {
    error.textContent = `Could not send ${file.name}: ${(e as Error).message}`;
  } finally {
    showProgress(null);
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function renderAttachment(attachment: AttachmentView): HTMLElement {
  const name = attachment.fileName ?? attachment.attachmentId;
  if (attachment.mimeType.startsWith('image/')) {
    const img = h('img', { className: 'thumb', testId: 'attachment-image' });
    img.alt = name;
    downloadUrlOf(attachment.attachmentId)
      .then((url) => (img.src = url))
      .catch(() => (img.alt = `${name} (unavailable)`));
    img.addEventListener('click', () => openViewer(img.src, name));
    return img;
  }
  const link = h('a', { text: name, testId: 'attachment-file' });
  link.href = '#';
  link.addEventListener('click', (event) => {
    event.preventDefault();
    void downloadUrlOf(attachment.attachmentId).then((url) => window.open(url, '_blank'));
  });
  return h(
    'div',
    { className: 'file' },
    h('span', { text: '📄' }),
    link,
    h('span', { className: 'size', text: formatSize(attachment.sizeBytes) }),
  );
}

function openViewer(src: string, name: string): void {
  if (!src) return;
  const image = $<HTMLImageElement>('viewer-image');
  image.src = src;
  image.alt = name;
  $('viewer').hidden = false;
}

function wireAttachments(): void {
  const input = $<HTMLInputElement>('file-input');
  $('attach').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    for (const file of Array.from(input.files ?? [])) void sendFile(file);
    input.value = '';
  });
  const box = $('messages');
  box.addEventListener('dragover', (event) => {
    if (!state.openChatId) return;
    event.preventDefault();
    box.classList.add('dragging');
  });
  box.addEventListener('dragleave', () => box.classList.remove('dragging'));
  box.addEventListener('drop', (event) => {
    event.preventDefault();
    box.classList.remove('dragging');
    for (const file of Array.from(event.dataTransfer?.files ?? [])) void sendFile(file);
  });
  $('viewer').addEventListener('click', () => ($('viewer').hidden = true));
}

// ---- rendering ----

function chatTitle(chat: ChatView): string {
  if (chat.kind === 'group') return chat.name ?? 'Group';
  return chat.members.find((m) => m !== state.me) ?? chat.name ?? 'Direct chat';
}

function renderChatList(): void {
  const list = $('chats');
  list.replaceChildren();
  const chats = [...state.chats.values()].sort(
    (a, b) => (b.messages.at(-1)?.atMs ?? 0) - (a.messages.at(-1)?.atMs ?? 0),
  );
  for (const chat of chats) {
    const last = [...chat.messages].reverse().find((m) => !m.system) ?? chat.messages.at(-1);
    const li = h(
      'li',
      { className: chat.chatId === state.openChatId ? 'active' : '', testId: 'chat-item' },
      h(
        'div',
        { className: 'name' },
        h('span', { text: chatTitle(chat), testId: 'chat-name' }),
        chat.unread > 0 ? h('span', { className: 'badge', text: String(chat.unread) }) : null,
      ),
      h('div', {
        className: 'preview',
        text: last
          ? last.system
            ? last.body
            : `${last.by === state.me ? 'You' : last.by}: ${last.body || (last.attachments?.length ? '📎 attachment' : '')}`
          : '',
      }),
    );
    li.addEventListener('click', () => openChat(chat.chatId));
    list.append(li);
  }
}

function renderIfOpen(chat: ChatView): void {
  if (state.openChatId !== chat.chatId) return;
  renderHeader(chat);
  const box = $('messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  if (chat.messages.length === 0) box.append(h('div', { className: 'empty', text: 'No messages yet. Say hi!' }));
  let day = '';
  for (const m of chat.messages) {
    const thisDay = new Date(m.atMs).toDateString();
    if (thisDay !== day) {
      day = thisDay;
      box.append(h('div', { className: 'day', text: dayLabel(m.atMs), testId: 'day-separator' }));
    }
    if (m.system) {
      box.append(h('div', { className: 'msg system', text: m.body }));
      continue;
    }
    const mine = m.by === state.me;
    const time = timeOf(m.atMs);
    box.append(
      h(
        'div',
        { className: mine ? 'msg mine' : 'msg', testId: 'message' },
        chat.kind === 'group' && !mine ? h('div', { className: 'by', text: m.by }) : null,
        ...(m.attachments ?? []).map(renderAttachment),
        m.body || !m.attachments?.length ? h('div', { className: 'body', text: m.body, testId: 'message-body' }) : null,
        h(
          'div',
          { className: 'meta' },
          document.createTextNode(time),
          mine ? renderTicks(m.status) : null,
          mine && m.status === 'failed' ? retryButton(chat, m) : null,
        ),
      ),
    );
  }
  if (atBottom || chat.messages.at(-1)?.by === state.me) box.scrollTop = box.scrollHeight;
}

function renderTicks(status: Status): HTMLElement {
  const text = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' }[status];
  const el = h('span', { className: `ticks ${status}`, text, testId: 'ticks' });
  el.title = { pending: 'sending', sent: 'sent', delivered: 'delivered', read: 'read', failed: 'not sent' }[status];
  return el;
}

function retryButton(chat: ChatView, message: MessageView): HTMLElement {
  const button = h('button', { className: 'retry', text: 'Retry', testId: 'retry' });
  button.type = 'button';
  button.addEventListener('click', () => retry(chat, message));
  return button;
}

const timeOf = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** "Today", "Yesterday", a weekday within the week, else the date. */
function dayLabel(ms: number): string {
  const startOfToday = new Date().setHours(0, 0, 0, 0);
  const startOfDay = new Date(ms).setHours(0, 0, 0, 0);
  const daysAgo = Math.round((startOfToday - startOfDay) / 86_400_000);
  if (daysAgo === 0) return 'Today';
  if (daysAgo === 1) return 'Yesterday';
  if (daysAgo > 1 && daysAgo < 7) return new Date(ms).toLocaleDateString([], { weekday: 'long' });
  return new Date(ms).toLocaleDateString([], { day: 'numeric', month: 'long', year: 'numeric' });
}

/** "last seen today at 16:04", "… yesterday at 09:12", "… on Monday at …", "… on 3 November 2026". */
function lastSeenLabel(ms: number): string {
  const day = dayLabel(ms);
  if (day === 'Today' || day === 'Yesterday') return `last seen ${day.toLowerCase()} at ${timeOf(ms)}`;
  return `last seen on ${day}${day.includes(' ') ? '' : ` at ${timeOf(ms)}`}`;
}

function renderHeader(chat: ChatView): void {
  $('chat-title').textContent = chatTitle(chat);
  let sub = chat.kind === 'group' ? chat.members.join(', ') : '';
  const other = chat.kind === 'direct' ? chat.members.find((m) => m !== state.me) : undefined;
  const presence = other ? state.presence.get(other) : undefined;
  if (presence) {
    sub = presence.online ? 'online' : presence.lastSeenMs ? lastSeenLabel(presence.lastSeenMs) : '';
  } else if (chat.kind === 'group') {
    const online = chat.members.filter((m) => m !== state.me && state.presence.get(m)?.online).length;
    if (online > 0) sub = `${sub} · ${online} online`;
  }
  $('chat-sub').textContent = sub;
}

function renderTyping(): void {
  const now = Date.now();
  const chatId = state.openChatId;
  const who = chatId ? (state.typing.get(chatId) ?? []).filter((t) => t.untilMs > now).map((t) => t.userId) : [];
  $('typing').textContent = who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`;
}

// ---- boot ----

$<HTMLInputElement>('user').value = localStorage.getItem('chatmesh.page.lastUser') ?? '';
$<HTMLInputElement>('device').value = localStorage.getItem('chatmesh.page.lastDevice') ?? '';
$('login').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
$('message-input').addEventListener('keydown', onComposerKey);
$('new-chat').addEventListener('submit', createChat);
$('composer').addEventListener('submit', sendMessage);
$('message-input').addEventListener('input', onComposerInput);
$('message-input').addEventListener('blur', () => {
  if (state.openChatId) state.client?.setTyping(state.openChatId, false);
});
document.addEventListener('visibilitychange', markOpenChatRead);
wireAttachments();
$<HTMLInputElement>('read-receipts').addEventListener('change', (e) =>
  changeSetting('readReceipts', e.target as HTMLInputElement),
);
$<HTMLInputElement>('presence-visible').addEventListener('change', (e) =>
  changeSetting('presenceVisible', e.target as HTMLInputElement),
);
setInterval(renderTyping, 1000);
resumeSession();
