/**
 * docker-compose.yml and the Dockerfile cannot be run here (no Docker engine); these tests hold them to
 * what the rest of the repository says: every image entry is a Dockerfile target and a compose service,
 * every CHATMESH_* variable they set is a documented one, and the containers run non-root and read-only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { allVariables } from '@chatmesh/config';
import { CONFIG_SECTIONS, LAUNCHER_SECTIONS } from '@chatmesh/launcher';
import { parse } from 'yaml';

import { BUNDLE_DIR, IMAGE_ENTRY_NAMES } from '../entries.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const dockerfile = readFileSync(`${REPO_ROOT}/Dockerfile`, 'utf8');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  read_only?: boolean;
  user?: string;
}
const compose = parse(readFileSync(`${REPO_ROOT}/docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const known = new Set(allVariables({ ...CONFIG_SECTIONS, ...LAUNCHER_SECTIONS }).map((variable) => variable.env));

describe('Dockerfile', () => {
  test('has a target per image entry and a default target with every entry', () => {
    for (const name of IMAGE_ENTRY_NAMES) {
      assert.match(dockerfile, new RegExp(`^FROM runtime AS ${name}\\nCMD \\["${name}"\\]$`, 'm'), name);
    }
    assert.match(dockerfile, /^FROM runtime AS chatmesh$/m);
  });

  test('runs the compiled dispatcher as a numeric non-root user', () => {
    assert.match(dockerfile, new RegExp(`^ENTRYPOINT \\["node", "/app/${BUNDLE_DIR}/chatmesh.mjs"\\]$`, 'm'));
    assert.match(dockerfile, /^USER 1000:1000$/m);
    const entryLines = dockerfile.split('\n').filter((line) => /^(ENTRYPOINT|CMD)\b/.test(line));
    for (const line of entryLines) assert.doesNotMatch(line, /tsx/, 'the image must not run through tsx');
    assert.match(dockerfile, /npm run compile -w @chatmesh\/images/);
  });
});

describe('docker-compose.yml', () => {
  test('runs every image entry from the image', () => {
    const commands = Object.values(compose.services)
      .filter((service) => service.image === 'chatmesh:local')
      .map((service) => service.command?.[0]);
    assert.deepEqual(new Set(commands), new Set(IMAGE_ENTRY_NAMES));
  });

  test('sets only documented CHATMESH_* variables', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const variable of Object.keys(service.environment ?? {})) {
        if (variable.startsWith('CHATMESH_')) assert.ok(known.has(variable), `${name}: ${variable} is not documented`);
      }
    }
  });

  test('gives the gateway and ingest one shared S3 attachment store (a local folder is one container’s)', () => {
    for (const name of ['delivery-gateway', 'ingest']) {
      const env = compose.services[name]?.environment ?? {};
      assert.equal(env['CHATMESH_ATTACHMENT_STORE'], 's3', name);
      assert.equal(env['S3_ENDPOINT'], 'http://s3:7070', name);
      assert.ok(env['S3_ACCESS_KEY_ID'] && env['S3_SECRET_ACCESS_KEY'], name);
    }
    assert.ok(compose.services['s3'], 'an s3 service');
  });

  test('runs chatmesh containers read-only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image === 'chatmesh:local') assert.equal(service.read_only, true, name);
    }
  });
});
