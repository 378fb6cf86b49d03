/** @chatmesh/images: the bundles the container image runs. See deploy/images/README.md. */
export { compileImageEntries } from './compile.js';
export { IMAGE_ENTRIES, IMAGE_ENTRY_NAMES, BUNDLE_DIR, isImageEntry, type ImageEntry } from './entries.js';
