// Shared lint rules: typed linting, no floating promises, no deep imports or cycles.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/__generated__/**', '.infra/**', '.stack/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: ['@chatmesh/*/src/*', '@chatmesh/*/src'] }],
      'import-x/no-cycle': 'error',
      'import-x/no-relative-packages': 'error',
      'import-x/order': ['error', { groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'] }],
      // Every import, type-only ones and other workspaces included, is declared in the nearest package.json, so
      // turbo's task graph and a package's install see what it really uses. devDependencies only in test code and
      // in the tooling workspaces that never ship (load tests, the image builder, the Helm chart's generators).
      // Globs are matched against absolute paths (turbo runs eslint inside each package), hence the leading **/.
      'import-x/no-extraneous-dependencies': [
        'error',
        {
          includeInternal: true,
          includeTypes: true,
          devDependencies: [
            '**/__tests__/**',
            '**/src/testing/**',
            '**/bench/**',
            '**/scripts/**',
            '**/*.test.ts',
            '**/load-tests/**',
            '**/tests/*/src/**',
            '**/deploy/images/**',
            '**/k8s/**',
          ],
        },
      ],
    },
  },
  {
    // A service never imports another service in production code: they talk over topics, and the launcher
    // (deploy/) is what puts them in one process. Tests may (the system suites do).
    files: ['services/*/src/**/*.ts', 'services/*/bench/**/*.ts'],
    ignores: ['**/__tests__/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@chatmesh/*/src/*', '@chatmesh/*/src'], message: 'import a package by its name, not its src' },
            {
              group: [
                '@chatmesh/delivery-gateway',
                '@chatmesh/fan-out',
                '@chatmesh/ingest',
                '@chatmesh/presence',
                '@chatmesh/push',
                '@chatmesh/receipts',
              ],
              message: 'services talk over topics, not imports; move shared code into a lib under libs/',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests may use non-null assertions and loose boundaries; the code under test may not.
    files: ['**/__tests__/**/*.ts'],
    rules: {
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
