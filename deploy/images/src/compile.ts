/**
 * Compiles the image's entries to plain JavaScript: one ESM bundle per entry (esbuild, **no
 * `keepNames`**), so containers run `node bundle.mjs` instead of `node --import tsx file.ts`.
 *
 * Why compiled: tsx compiles at every start (slower starts, a compiler in the image's hot path) and with
 * esbuild's `keepNames`, which gives every closure its own `name` property: 22-45 MiB more RSS per
 * process at start (services/delivery-gateway/README.md, "Run compiled JavaScript in production").
 *
 * Bundled: each entry and every `@chatmesh/*` workspace package it imports (their exports point at
 * TypeScript sources). npm packages stay external imports resolved from node_modules at run time (uWS's
 * native binary, kafkajs, the Cassandra driver...). `import.meta.url` in a bundled module becomes its
 * source file's URL, so files found relative to a source (the Avro schemas, the CQL migrations, a
 * package.json) are still found: a bundle runs inside the tree it was built in, which is what the image
 * keeps (the Dockerfile builds at /app and copies /app).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_DIR, DISPATCHER_ENTRY, IMAGE_ENTRIES, IMAGE_ENTRY_NAMES } from './entries.js';

const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@chatmesh/') ? undefined : { path: args.path, external: true },
    );
  },
};

const sourceFileImportMetaUrl: Plugin = {
  name: 'source-file-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/') && !args.path.includes('/node_modules/@chatmesh/')) return undefined;
      // The dispatcher finds the bundles beside itself, so it keeps its own import.meta semantics.
      if (args.path.endsWith('/deploy/images/src/chatmesh.ts')) return undefined;
      const source = await readFile(args.path, 'utf8');
      return {
        contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      };
    });
  },
};

/**
 * Bundles every image entry and the dispatcher into `<repoRoot>/deploy/images/dist/` and returns the
 * bundles' paths by entry name (`chatmesh` for the dispatcher).
 * @throws Error (esbuild's) when an entry does not compile
 */
export async function compileImageEntries(repoRoot: string): Promise<Record<string, string>> {
  const outDir = resolve(repoRoot, BUNDLE_DIR);
  const entryPoints = [
    ...IMAGE_ENTRY_NAMES.map((name) => ({ in: resolve(repoRoot, IMAGE_ENTRIES[name]), out: name })),
    { in: resolve(repoRoot, DISPATCHER_ENTRY), out: 'chatmesh' },
  ];
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: false,
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [externalNpmPackages, sourceFileImportMetaUrl],
  });
  return Object.fromEntries(entryPoints.map((entry) => [entry.out, join(outDir, `${entry.out}.mjs`)]));
}
