import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', 'web/.dist-*/', 'data/', 'coverage/', '.stryker-tmp/', 'reports/'] },
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
    // Plain JavaScript run by Node (the launcher of npm start and its bundler).
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/infra/**', 'node:*', 'pg', '@electric-sql/*', 'pino'], message: 'Domain code is pure: no adapters, no I/O.' },
      ] }],
      'no-restricted-globals': ['error', 'crypto', 'fetch', 'setTimeout', 'setInterval', 'process'],
      'no-restricted-syntax': ['error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Domain code gets the time from its command.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Domain code gets the time from its command.' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'Domain code gets ids and randomness passed in.' },
      ],
    },
  },
);
