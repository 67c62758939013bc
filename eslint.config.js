// ESLint: the recommended JavaScript and typescript-eslint rules, formatting left to Prettier, and
// the import directions of the pipeline (docs in the README's architecture section): the stages of
// the road never import the shells (cli/, action/), and nothing below the pipeline imports it.

import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const SHELLS = {
  group: ['**/cli/*', '**/action/*'],
  message: 'the stages of the road never import the CLI or the action; pass what they need in RunOptions or RunContext',
};
const PIPELINE = {
  group: ['**/pipeline/*'],
  message: 'the pipeline calls the stages, not the reverse; move the shared type into the stage that owns it',
};

export default tseslint.config(
  { ignores: ['dist/', 'lib/', '.bench/', '.fuzz/', 'coverage/', 'node_modules/', 'src/quant/kernel-wasm.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          caughtErrors: 'none',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/action/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [SHELLS] }] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/action/**', 'src/pipeline/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [SHELLS, PIPELINE] }] },
  },
  prettier,
);
