/**
 * @chatmesh/web-chat: the chat page of embedded mode. {@link buildChatPage} bundles a small plain-DOM
 * app on @chatmesh/client (pick a name, get a development token, create direct chats and groups, chat
 * live) into `{ html, js }`, which the gateway serves at `GET /` and `GET /app.js`.
 */
export { buildChatPage, type ChatPage } from './build-chat-page.js';
