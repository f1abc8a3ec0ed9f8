import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/infra/**', 'node:*', 'pg', '@electric-sql/*', 'pino'], message: 'Domain code is pure: no adapters, no I/O.' },
      ] }],
      'no-restricted-globals': ['error', 'Date', 'crypto', 'fetch', 'setTimeout', 'process'],
    },
  },
);
