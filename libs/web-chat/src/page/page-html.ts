/**
 * The chat page's HTML and CSS: a login card, then a sidebar (chat list, new chat form) and the open
 * chat (header, messages, typing line, composer). `app.ts` fills it; `data-testid`s are for the
 * browser test.
 */
export const CHAT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatmesh</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%231f8a70'/%3E%3Cpath d='M8 10h16v10H14l-5 4v-4H8z' fill='%23fff'/%3E%3C/svg%3E">
<style>
  :root { --bg: #eef1f4; --panel: #fff; --line: #e2e6ea; --ink: #1d2329; --muted: #6b7580; --accent: #1f8a70;
          --mine: #d9f5e9; --theirs: #fff; --danger: #c0392b; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif,
          "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--ink); height: 100vh; display: flex; flex-direction: column; }
  header.top { background: var(--accent); color: #fff; padding: 10px 16px; display: flex; align-items: center; gap: 12px; }
  header.top h1 { font-size: 17px; margin: 0; font-weight: 600; letter-spacing: .3px; }
  header.top .me { margin-left: auto; font-size: 13px; opacity: .9; }
  .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #f1c40f; margin-right: 6px; }
  .dot.live { background: #7CFC9A; } .dot.down { background: #ff6b6b; }
  input, button, textarea { font: inherit; }
  input[type=text] { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; width: 100%; background: #fff; }
  input[type=text]:focus { outline: 2px solid #bfe6da; border-color: var(--accent); }
  button { border: 0; border-radius: 8px; padding: 8px 14px; background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled { opacity: .5; cursor: default; }
  button.secondary { background: #e8ecef; color: var(--ink); }
  .login { margin: 10vh auto; width: 340px; background: var(--panel); border-radius: 14px; padding: 24px;
           box-shadow: 0 6px 24px rgba(0,0,0,.08); display: flex; flex-direction: column; gap: 10px; }
  .login h2 { margin: 0 0 4px; font-size: 20px; }
  .login p { margin: 0 0 6px; color: var(--muted); font-size: 13px; }
  label { font-size: 12px; color: var(--muted); }
  .error { color: var(--danger); font-size: 13px; min-height: 1em; }
  .app { flex: 1; display: flex; min-height: 0; }
  aside { width: 290px; background: var(--panel); border-right: 1px solid var(--line); display: flex; flex-direction: column; }
  .new-chat { padding: 12px; border-bottom: 1px solid var(--line); display: flex; flex-direction: column; gap: 6px; }
  .new-chat .row { display: flex; gap: 6px; }
  ul.chats { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1; }
  ul.chats li { padding: 10px 14px; border-bottom: 1px solid var(--line); cursor: pointer; }
  ul.chats li:hover { background: #f6f8f9; }
  ul.chats li.active { background: #e7f4ef; }
  ul.chats .name { font-weight: 600; display: flex; justify-content: space-between; gap: 8px; }
  ul.chats .preview { color: var(--muted); font-size: 13px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .badge { background: var(--accent); color: #fff; border-radius: 10px; padding: 0 7px; font-size: 12px; font-weight: 600; }
  main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  .chat-header { background: var(--panel); padding: 10px 16px; border-bottom: 1px solid var(--line); min-height: 56px; }
  .chat-header .title { font-weight: 600; }
  .chat-header .sub { color: var(--muted); font-size: 12px; }
  .messages { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 6px; }
  .empty { margin: auto; color: var(--muted); text-align: center; }
  .msg { max-width: 70%; padding: 7px 10px 5px; border-radius: 10px; background: var(--theirs); align-self: flex-start;
         box-shadow: 0 1px 1px rgba(0,0,0,.06); word-wrap: break-word; }
  .msg.mine { align-self: flex-end; background: var(--mine); }
  .msg.system { align-self: center; background: transparent; box-shadow: none; color: var(--muted); font-size: 12px; }
  .msg .by { font-size: 12px; font-weight: 600; color: var(--accent); }
  .msg .meta { font-size: 11px; color: var(--muted); text-align: right; margin-top: 2px; }
  .msg .body { white-space: pre-wrap; }
  .msg .ticks { margin-left: 5px; font-size: 13px; font-weight: 700; letter-spacing: -1px; color: #8a949e; }
  .msg .ticks.delivered { color: #55606b; }
  .msg .ticks.read { color: #1e9be0; }
  .msg .ticks.failed { color: var(--danger); font-weight: 700; }
  .msg .retry { margin-left: 6px; padding: 1px 8px; font-size: 11px; background: var(--danger); }
  .day { align-self: center; background: #dfe6ea; color: #4a545e; font-size: 12px; padding: 2px 10px; border-radius: 8px; margin: 6px 0; }
  .privacy { font-size: 12px; display: flex; gap: 10px; align-items: center; }
  .privacy label { color: #fff; font-size: 12px; }
  .typing { height: 20px; padding: 0 16px; color: var(--muted); font-size: 12px; font-style: italic; }
  form.composer { display: flex; gap: 8px; padding: 10px 16px; background: var(--panel); border-top: 1px solid var(--line); align-items: flex-end; }
  form.composer textarea { flex: 1; resize: none; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; height: 38px; max-height: 140px; }
  form.composer textarea:focus { outline: 2px solid #bfe6da; border-color: var(--accent); }
  .sign-out { background: transparent; border: 1px solid rgba(255,255,255,.6); padding: 2px 10px; font-size: 12px; }
  .push-inbox { border-top: 1px solid var(--line); padding: 8px 12px; max-height: 30%; overflow-y: auto; }
  .push-inbox h3 { margin: 0 0 4px; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
  .push-inbox ul { list-style: none; margin: 0; padding: 0; font-size: 12px; }
  .push-inbox li { padding: 3px 0; color: var(--ink); }
  .push-inbox li .when { color: var(--muted); margin-left: 6px; }
  .attach { background: #e8ecef; color: var(--ink); padding: 8px 11px; }
  .progress { height: 4px; background: var(--line); margin: 0 16px; border-radius: 2px; overflow: hidden; }
  .progress > div { height: 100%; width: 0; background: var(--accent); transition: width .1s; }
  .messages.dragging { outline: 3px dashed var(--accent); outline-offset: -8px; }
  .msg .thumb { display: block; max-width: 240px; max-height: 240px; border-radius: 6px; margin: 2px 0; cursor: zoom-in; background: #f0f0f0; }
  .msg .file { display: flex; gap: 8px; align-items: center; padding: 6px 8px; border: 1px solid var(--line); border-radius: 8px; margin: 2px 0; background: #fafbfc; }
  .msg .file a { color: var(--accent); font-weight: 600; text-decoration: none; }
  .msg .file .size { color: var(--muted); font-size: 12px; }
  .viewer { position: fixed; inset: 0; background: rgba(0,0,0,.85); display: flex; align-items: center; justify-content: center; cursor: zoom-out; z-index: 10; }
  .viewer img { max-width: 92vw; max-height: 92vh; box-shadow: 0 8px 40px rgba(0,0,0,.5); }
  [hidden] { display: none !important; }
</style>
</head>
<body>
  <header class="top"><h1>chatmesh</h1><span class="me" data-testid="me"></span><button type="button" class="sign-out" data-testid="sign-out" hidden>Sign out</button>
    <span class="privacy" data-testid="privacy" hidden>
      <label><input type="checkbox" data-testid="read-receipts"> read receipts</label>
      <label><input type="checkbox" data-testid="presence-visible"> show online</label></span>
    <span data-testid="status"><span class="dot"></span><span class="status-text">offline</span></span></header>
  <form class="login" data-testid="login">
    <h2>Sign in</h2>
    <p>Embedded mode: pick any name; the server hands out a development token.</p>
    <label for="user">User name</label><input type="text" id="user" data-testid="user" autocomplete="off" required>
    <label for="device">Device name</label><input type="text" id="device" data-testid="device" autocomplete="off">
    <button type="submit" data-testid="connect">Connect</button>
    <div class="error" data-testid="login-error"></div>
  </form>
  <div class="app" hidden data-testid="app">
    <aside>
      <form class="new-chat" data-testid="new-chat">
        <label for="members">New chat with (names, comma-separated)</label>
        <input type="text" id="members" data-testid="members" placeholder="bob, carol" autocomplete="off">
        <div class="row"><input type="text" id="group-name" data-testid="group-name" placeholder="group name (optional)" autocomplete="off">
        <button type="submit" data-testid="create-chat">Create</button></div>
        <div class="error" data-testid="chat-error"></div>
      </form>
      <ul class="chats" data-testid="chats"></ul>
      <section class="push-inbox" data-testid="push-inbox" hidden>
        <h3>Push wake-ups (local inbox)</h3>
        <ul data-testid="wake-ups"></ul>
      </section>
    </aside>
    <main>
      <div class="chat-header"><div class="title" data-testid="chat-title">No chat open</div><div class="sub" data-testid="chat-sub"></div></div>
      <div class="not-e2e" data-testid="not-e2e" role="note">Not end-to-end encrypted: this page sends plain text, which the chatmesh server can read. End-to-end encrypted chats need an app with the Signal protocol (@chatmesh/client/e2e).</div>
      <div class="messages" data-testid="messages"><div class="empty">Create a chat or pick one on the left.</div></div>
      <div class="typing" data-testid="typing"></div>
      <div class="progress" data-testid="upload-progress" hidden><div></div></div>
      <form class="composer" data-testid="composer">
        <button type="button" class="attach" data-testid="attach" title="Attach a file or image (or drop it on the chat)" disabled>📎</button>
        <input type="file" data-testid="file-input" hidden>
        <textarea data-testid="message-input" rows="1" placeholder="Type a message (Shift+Enter: new line)" disabled></textarea>
        <button type="submit" data-testid="send" disabled>Send</button>
      </form>
    </main>
  </div>
  <div class="viewer" data-testid="viewer" hidden><img data-testid="viewer-image" alt=""></div>
  <script type="module" src="/app.js"></script>
</body>
</html>
`;
