import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createMemoryStore } from '@chatmesh/store';

import { createLocalObjectStore, LOCAL_BLOB_ROUTE } from '../index.js';
import { runAttachmentSuite } from './attachment-suite.js';

runAttachmentSuite('local folder + memory store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatmesh-attachments-'));
  const objects = createLocalObjectStore({ dir, secret: 's'.repeat(32), baseUrl: () => 'http://gw.test' });
  const store = createMemoryStore();
  return {
    objects,
    store,
    // What the gateway's blob route does with a request (its HTTP side is tested in the gateway).
    async perform(request, body) {
      const url = new URL(request.url);
      const key = url.pathname.slice(LOCAL_BLOB_ROUTE.length);
      try {
        const grant = objects.verify(request.method, key, url.searchParams);
        if (grant.op === 'get') {
          const found = await objects.readBlob(grant.key);
          return found === null ? { status: 404 } : { status: 200, body: found.body };
        }
        if (grant.op === 'put') {
          await objects.writeBlob(grant, body ?? Buffer.alloc(0));
          return { status: 200 };
        }
        return { status: 200, etag: await objects.writePart(grant, body ?? Buffer.alloc(0)) };
      } catch {
        return { status: 403 };
      }
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
