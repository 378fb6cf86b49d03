/**
 * What the image runs: one bundle per process kind, named as `docker run chatmesh <name>` and the Helm
 * chart's `args` name them. The single table the compiler, the image's entry point and the tests share,
 * so an entry cannot be built without being tested or tested without being built.
 */
export const IMAGE_ENTRIES = {
  ingest: 'services/ingest/src/main.ts',
  'fan-out': 'services/fan-out/src/main.ts',
  receipts: 'services/receipts/src/main.ts',
  push: 'services/push/src/main.ts',
  presence: 'services/presence/src/main.ts',
  'delivery-gateway': 'services/delivery-gateway/src/main.ts',
  'schema-registry': 'libs/schema-registry/src/main.ts',
  migrate: 'libs/store/src/migrate-main.ts',
} as const;

export type ImageEntry = keyof typeof IMAGE_ENTRIES;

export const IMAGE_ENTRY_NAMES = Object.keys(IMAGE_ENTRIES) as ImageEntry[];

/** Where the bundles go, relative to the repository root (git-ignored `dist/`). */
export const BUNDLE_DIR = 'deploy/images/dist';

/** The image's entry point source, compiled to `<BUNDLE_DIR>/chatmesh.mjs`. */
export const DISPATCHER_ENTRY = 'deploy/images/src/chatmesh.ts';

export function isImageEntry(name: string): name is ImageEntry {
  return Object.hasOwn(IMAGE_ENTRIES, name);
}
