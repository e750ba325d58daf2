// ESLint over the whole tree (npm test runs it): JavaScript's and typescript-eslint's recommended
// rules, the type-checked ones included (they catch a promise left floating in a handler).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'test-bundles/', 'node_modules/', 'coverage/', '.tap/', 'data/', 'drizzle/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    rules: {
      // Fastify's plugins, hooks and handlers are async by contract (a handler that returns its
      // reply is async), with or without an await inside
      '@typescript-eslint/require-await': 'off',
      // a variable a closure reads before its one assignment (the app, in the signal handler) stays let
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `const { secret: _, ...rest } = row` leaves a field out on purpose
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // tap's t.test() need not be awaited: tap runs subtests in order and waits for them
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    // plain CommonJS that any Node.js reads (the version check before the build): no types to check
    files: ['scripts/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // a response's json() is `any` by design (light-my-request, fetch): tests read it as such
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
);
