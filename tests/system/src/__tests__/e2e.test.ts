import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import { E2E_TEST_ENV, defineE2ESuite } from '../e2e-suite.js';
import { startEmbeddedExperience } from '../embedded-experience.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-e2e-embedded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

defineE2ESuite({
  name: 'issue 18 end-to-end encryption (embedded: memory bus and store, local attachment folder)',
  createSystem: () =>
    startEmbeddedExperience({
      env: { ...E2E_TEST_ENV, CHATMESH_ATTACHMENT_STORE: 'local', CHATMESH_ATTACHMENT_DIR: dir },
    }),
});
