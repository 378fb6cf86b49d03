import type { ChatPageAssets } from './http-api.js';

/** The package that builds embedded mode's chat page (issue 6, another part of the tree). */
export const WEB_CHAT_PACKAGE = '@chatmesh/web-chat';

/**
 * Loads embedded mode's chat page from `@chatmesh/web-chat` (`buildChatPage(): Promise<{html, js}>`),
 * once, and keeps it. Resolves null when the package is not installed or exports no `buildChatPage`,
 * so the gateway runs (and answers 404 on `/`) without it. Imported by name at run time rather than
 * declared, so the gateway does not depend on a package that may land later.
 */
export function createChatPageLoader(packageName: string = WEB_CHAT_PACKAGE): () => Promise<ChatPageAssets | null> {
  let loading: Promise<ChatPageAssets | null> | null = null;
  return () => {
    loading ??= (async () => {
      let module: { buildChatPage?: unknown };
      try {
        module = (await import(packageName)) as { buildChatPage?: unknown };
      } catch {
        return null;
      }
      if (typeof module.buildChatPage !== 'function') return null;
      const assets = (await (module.buildChatPage as () => Promise<ChatPageAssets>)()) as ChatPageAssets;
      return { html: assets.html, js: assets.js };
    })().catch((error: unknown) => {
      loading = null;
      throw error;
    });
    return loading;
  };
}
