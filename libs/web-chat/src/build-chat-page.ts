import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { ChatmeshError } from '@chatmesh/errors';
import { CHAT_PAGE_HTML } from './page/page-html.js';

/** The chat page: its HTML and the bundled script it loads from `/app.js`. */
export interface ChatPage {
  readonly html: string;
  readonly js: string;
}

const APP_ENTRY = fileURLToPath(new URL('./page/app.ts', import.meta.url));
const CRYPTO_SHIM = fileURLToPath(new URL('./internal/node-crypto-shim.ts', import.meta.url));

/** Maps the only Node built-in the page reaches (through `directChatId`) to a browser implementation. */
const browserShims: Plugin = {
  name: 'chatmesh-browser-shims',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?crypto$/ }, () => ({ path: CRYPTO_SHIM }));
  },
};

let cached: Promise<ChatPage> | undefined;

/**
 * Bundles the chat page (`src/page/app.ts` with @chatmesh/client, zod and the protocol) into one ES2022
 * script with esbuild, once per process: later calls return the same promise. Embedded mode serves
 * `html` at `GET /` and `js` at `GET /app.js`.
 * @throws ChatmeshError `CM_ERR_CLIENT_PAGE_BUILD_FAILED` with esbuild's messages (the cache is cleared,
 *   so a later call tries again).
 */
export function buildChatPage(): Promise<ChatPage> {
  cached ??= bundle().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function bundle(): Promise<ChatPage> {
  try {
    const result = await build({
      entryPoints: [APP_ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      plugins: [browserShims],
      logLevel: 'silent',
    });
    const js = result.outputFiles[0]?.text ?? '';
    return Object.freeze({ html: CHAT_PAGE_HTML, js });
  } catch (cause) {
    const errors = (cause as { errors?: Array<{ text: string }> }).errors ?? [];
    throw new ChatmeshError(
      'CM_ERR_CLIENT_PAGE_BUILD_FAILED',
      `the chat page did not bundle: ${errors.map((e) => e.text).join('; ') || String(cause)}`,
      { cause },
    );
  }
}
