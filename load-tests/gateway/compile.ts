/**
 * Compiles a process of the gateway benchmarks to plain JavaScript (esbuild, one ESM bundle per entry,
 * **without `keepNames`**), so it runs with `node file.mjs` instead of `node --import tsx file.ts`.
 *
 * Why: tsx compiles with esbuild's `keepNames`, which wraps every named function and class in
 * `__name(fn, "name")`; that defines an own `name` property on each closure, which gives every closure
 * created per connection its own property dictionary. Compiled without it, those bytes go (see
 * load-tests/README.md "Connection density").
 *
 * What is bundled: the entries and every `@chatmesh/*` workspace package they import (their exports
 * point at TypeScript sources). Everything else from node_modules stays an external import, resolved
 * at run time from the repository's node_modules as usual. `import.meta.url` in a bundled module is
 * replaced by its source file's URL, so paths resolved relative to a source file (the Avro schemas
 * directory, the store's migrations, uWS's binary via `createRequire`) still point where they did.
 * Not bundled: modules imported by a computed name (the web-chat page, loaded by name on `GET /`, is
 * then absent: 404), which no benchmark uses.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** Keeps npm packages external and bundles the `@chatmesh/*` workspace packages. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@chatmesh/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** Replaces `import.meta.url` in the repository's TypeScript sources by the source file's own URL. */
const sourceFileImportMetaUrl: Plugin = {
  name: 'source-file-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/') && !args.path.includes('/node_modules/@chatmesh/')) return undefined;
      const source = await readFile(args.path, 'utf8');
      return {
        contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      };
    });
  },
};

/**
 * Bundles each entry (absolute `.ts` paths) into `outDir/<name>.mjs` and returns those paths, in order.
 * @throws Error (esbuild's) when an entry does not compile
 */
export async function compileEntries(entries: readonly string[], outDir: string): Promise<string[]> {
  await build({
    entryPoints: entries.map((entry) => ({ in: entry, out: basename(entry, extname(entry)) })),
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
  return entries.map((entry) => join(outDir, `${basename(entry, extname(entry))}.mjs`));
}
