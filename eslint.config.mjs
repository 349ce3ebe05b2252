// Type-aware lint for the library, its tests and the sample; `npm run lint` runs it.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'sample-dist/', 'bench/', 'test/compat/', '.tmp/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Input checks match control characters on purpose (job types, keys, JSON text).
      'no-control-regex': 'off',
      // `async` also says "returns a promise, never throws synchronously": handlers, Nest hooks, ports.
      '@typescript-eslint/require-await': 'off',
      // A rest sibling is how a known key is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // Abort reasons are the AbortSignal's `reason`, of any type by the platform's contract.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
);
