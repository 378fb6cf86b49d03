import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import { createLocalObjectStore } from '@chatmesh/attachments';

import { ATTACHMENT_TEST_ENV, defineAttachmentSuite } from '../attachment-suite.js';
import { startEmbeddedExperience } from '../embedded-experience.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-attachments-embedded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

defineAttachmentSuite({
  name: 'issue 17 attachments (embedded: local folder behind the gateway’s signed blob URLs)',
  createSystem: () =>
    startEmbeddedExperience({
      env: { ...ATTACHMENT_TEST_ENV, CHATMESH_ATTACHMENT_STORE: 'local', CHATMESH_ATTACHMENT_DIR: dir },
    }),
  // The same folder; the test never signs with it, so any secret does.
  openObjects: async () => createLocalObjectStore({ dir, secret: 'test-only-secret-of-32-characters!!' }),
});
